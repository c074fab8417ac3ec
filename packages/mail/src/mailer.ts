// Every mail is first written to mail.mail_outbox (durable: nothing accepted is lost), then sent by SMTP
// when a transport is configured. Without SMTP the outbox is the development mailbox (devMailbox query)
// and the log prints each mail, links included.
import type { PrismaClient } from '@g3d/db';
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

export class Mailer {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly sender: MailSender | null,
    private readonly logger: Logger,
  ) {}

  get hasTransport(): boolean {
    return this.sender !== null;
  }

  async send(mail: OutgoingMail): Promise<void> {
    const row = await this.prisma.mailMessage.create({ data: mail });
    if (!this.sender) {
      this.logger.info(
        { to: mail.to, subject: mail.subject, text: mail.text },
        'mail (no SMTP configured: kept in the outbox)',
      );
      return;
    }
    await this.deliver(row.id, mail);
  }

  /** Retries unsent mail (called periodically); each message at most 5 times. */
  async retryPending(limit = 50): Promise<void> {
    if (!this.sender) return;
    const pending = await this.prisma.mailMessage.findMany({
      where: { sentAt: null, attempts: { lt: 5 } },
      orderBy: { createdAt: 'asc' },
      take: limit,
    });
    for (const row of pending) await this.deliver(row.id, row);
  }

  private async deliver(id: string, mail: OutgoingMail): Promise<void> {
    try {
      await this.sender?.send({ to: mail.to, subject: mail.subject, text: mail.text });
      await this.prisma.mailMessage.update({ where: { id }, data: { sentAt: new Date(), attempts: { increment: 1 } } });
    } catch (error) {
      // The mail stays queued; the caller's request still succeeds (it is durable in the outbox).
      this.logger.warn({ err: error, to: mail.to }, 'mail delivery failed; will retry');
      await this.prisma.mailMessage.update({
        where: { id },
        data: { attempts: { increment: 1 }, lastError: error instanceof Error ? error.message : String(error) },
      });
    }
  }

  mailbox(to: string) {
    return this.prisma.mailMessage.findMany({ where: { to }, orderBy: { createdAt: 'desc' }, take: 50 });
  }
}
