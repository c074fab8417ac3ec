// Every mail is first written to mail.mail_outbox (durable: nothing accepted is lost), then sent by SMTP
// when a transport is configured. Without SMTP the outbox is the development mailbox (devMailbox query)
// and the log prints each mail, links included.
//
// Replica-safe: a process claims a message (claimed_until, a lease) before it talks to SMTP. The retry job
// claims its batch with FOR UPDATE SKIP LOCKED, so two replicas (or a slow inline send and the job) never
// deliver the same message twice; a process that dies while sending leaves a claim that expires.
import { type Db, Prisma, type PrismaClient } from '@g3d/db';
import type { Logger } from '@g3d/kit';

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  kind: string;
}

/** The outbound adapter (SMTP in production; a recording fake in unit tests). */
export interface MailSender {
  send(message: { to: string; subject: string; text: string }): Promise<void>;
}

/** Longer than one SMTP exchange may take (the transport's timeouts add up to 40 s). */
export const MAIL_CLAIM_SECONDS = 120;
export const MAX_MAIL_ATTEMPTS = 5;

interface ClaimedMail extends OutgoingMail {
  id: string;
}

export class Mailer {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly sender: MailSender | null,
    private readonly logger: Logger,
  ) {}

  get hasTransport(): boolean {
    return this.sender !== null;
  }

  /** Queues the mail and, with SMTP, sends it at once (claimed from the start: the retry job leaves it alone). */
  async send(mail: OutgoingMail): Promise<void> {
    const claimedUntil = this.sender ? new Date(Date.now() + MAIL_CLAIM_SECONDS * 1000) : null;
    const row = await this.prisma.mailMessage.create({ data: { ...mail, claimedUntil }, select: { id: true } });
    if (!this.sender) {
      this.logger.info(
        { to: mail.to, subject: mail.subject, text: mail.text },
        'mail (no SMTP configured: kept in the outbox)',
      );
      return;
    }
    await this.deliver({ id: row.id, ...mail });
  }

  /**
   * Queues the mail inside the caller's transaction, so it exists exactly when the change it belongs to was
   * committed; the retry job sends it (and, without SMTP, it is in the development mailbox at once).
   */
  async enqueue(tx: Db, mail: OutgoingMail): Promise<void> {
    await tx.mailMessage.create({ data: mail, select: { id: true } });
  }

  /** Sends unsent mail (called periodically): claims up to `limit` messages no other process holds. */
  async retryPending(limit = 50): Promise<number> {
    if (!this.sender) return 0;
    const claimed = await this.prisma.$queryRaw<ClaimedMail[]>(Prisma.sql`
      UPDATE "mail"."mail_outbox"
      SET "claimed_until" = now() + make_interval(secs => ${MAIL_CLAIM_SECONDS})
      WHERE "id" IN (
        SELECT "id" FROM "mail"."mail_outbox"
        WHERE "sent_at" IS NULL AND "attempts" < ${MAX_MAIL_ATTEMPTS}
          AND ("claimed_until" IS NULL OR "claimed_until" < now())
        ORDER BY "created_at"
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED)
      RETURNING "id", "to", "subject", "text", "kind"`);
    for (const mail of claimed) await this.deliver(mail);
    return claimed.length;
  }

  private async deliver(mail: ClaimedMail): Promise<void> {
    try {
      await this.sender?.send({ to: mail.to, subject: mail.subject, text: mail.text });
      await this.prisma.mailMessage.update({
        where: { id: mail.id },
        data: { sentAt: new Date(), attempts: { increment: 1 }, claimedUntil: null },
      });
    } catch (error) {
      // The mail stays queued; the caller's request still succeeds (it is durable in the outbox).
      this.logger.warn({ err: error, to: mail.to }, 'mail delivery failed; will retry');
      await this.prisma.mailMessage.update({
        where: { id: mail.id },
        data: {
          attempts: { increment: 1 },
          claimedUntil: null,
          lastError: error instanceof Error ? error.message : String(error),
        },
      });
    }
  }

  mailbox(to: string) {
    return this.prisma.mailMessage.findMany({ where: { to }, orderBy: { createdAt: 'desc' }, take: 50 });
  }
}
