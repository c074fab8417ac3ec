// Outgoing mail for every subgraph: the durable outbox (mail.mail_outbox), SMTP delivery with retries, and the
// development mailbox when no SMTP is configured.
export * from './mailer.ts';
export * from './transport.ts';
export * from './wording.ts';
