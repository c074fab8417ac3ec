// The outbound mail port and its adapters: SMTP through nodemailer, and a recording fake for tests.
import { createTransport } from 'nodemailer';

export type MailMessage = { to: string; subject: string; text: string };

export interface MailTransport {
  send(message: MailMessage): Promise<void>;
}

// One plain addr-spec: no display name, no list ("a@x, b@y"), no whitespace or line breaks. The address comes from
// user input and nodemailer would otherwise parse a list out of it and mail every address in it.
const SINGLE_ADDRESS = /^[^\s@,;:<>()[\]"\\]+@[^\s@,;:<>()[\]"\\]+$/;

function assertSingleAddress(to: string): void {
  if (!SINGLE_ADDRESS.test(to)) throw new Error('Mail recipient must be a single plain email address');
}

/**
 * SMTP through nodemailer. `url` is a nodemailer connection URL, e.g. `smtps://user:pass@smtp.example.com` or
 * `smtp://127.0.0.1:1025?ignoreTLS=true` (query parameters become transport options). `from` is the sender address.
 */
export function createSmtpTransport(url: string, from: string): MailTransport {
  const transporter = createTransport(
    { url, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 },
    { from },
  );
  return {
    async send({ to, subject, text }) {
      assertSingleAddress(to);
      await transporter.sendMail({ to, subject, text });
    },
  };
}

/** A sent message as recorded; `kind` is kept when the message came from a template (see templates.ts). */
export type RecordedMail = MailMessage & { kind?: string };

/** A fake of the outbound adapter for unit tests: every sent message is appended to `sent`. */
export function createRecordingTransport(): { transport: MailTransport; sent: RecordedMail[] } {
  const sent: RecordedMail[] = [];
  return {
    sent,
    transport: {
      async send(message) {
        assertSingleAddress(message.to);
        sent.push({ ...message });
      },
    },
  };
}
