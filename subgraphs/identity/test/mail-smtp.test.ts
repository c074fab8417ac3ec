// Mail over SMTP against a local fake SMTP server (smtp-server, plain text on 127.0.0.1, no TLS, no auth): the
// transport and the templates, then identity on the subgraph harness with SMTP configured — its mails are
// delivered when the server answers, kept in the outbox and retried when it refuses.
import type { AddressInfo } from 'node:net';

import { createRecordingTransport, createSmtpTransport } from '@g3d/mail';
import { DEV_MAILBOX, type Harness, platformAdmin, REGISTER, registration, run, startSubgraphs } from '@g3d/testkit';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { service as identity } from '../src/index.ts';
import {
  emailAlreadyRegisteredMail,
  passwordChangedMail,
  resetPasswordMail,
  verifyEmailMail,
} from '../src/modules/mail/templates.ts';

type Received = { from: string; to: string[]; raw: string };

// Enough quoted-printable decoding for the ASCII bodies nodemailer sends here.
const decodeQuotedPrintable = (body: string): string =>
  body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));

describe('createSmtpTransport', () => {
  const received: Received[] = [];
  let server: SMTPServer;
  let url: string;

  beforeAll(async () => {
    server = new SMTPServer({
      disabledCommands: ['STARTTLS', 'AUTH'],
      authOptional: true,
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString('utf8'),
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    url = `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}?ignoreTLS=true`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  it('delivers a mail with the right envelope, recipient and subject', async () => {
    const transport = createSmtpTransport(url, 'G3D <no-reply@g3d.test>');
    const mail = verifyEmailMail({
      to: 'alice@example.com',
      link: 'https://app.g3d.test/verify#t=abc',
      expiresInHours: 24,
    });
    await transport.send(mail);

    expect(received).toHaveLength(1);
    const [got] = received;
    expect(got?.from).toBe('no-reply@g3d.test');
    expect(got?.to).toEqual(['alice@example.com']);
    expect(got?.raw).toMatch(/^To: alice@example\.com$/m);
    expect(got?.raw).toMatch(/^Subject: Confirm your email address for G3D$/m);
    expect(got?.raw).toMatch(/^From: G3D <no-reply@g3d\.test>$/m);
    expect(got?.raw).toMatch(/^Content-Transfer-Encoding: quoted-printable$/m);
    const body = decodeQuotedPrintable(got?.raw.split('\r\n\r\n').slice(1).join('\r\n\r\n') ?? '');
    expect(body.replace(/\r\n/g, '\n')).toBe(mail.text);
  });

  it('refuses a recipient that is not a single plain address', async () => {
    const transport = createSmtpTransport(url, 'no-reply@g3d.test');
    const before = received.length;
    for (const to of [
      'a@example.com, b@example.com',
      'Eve <eve@example.com>',
      'a@example.com\r\nBcc: x@y.z',
      'nobody',
    ]) {
      await expect(transport.send({ to, subject: 's', text: 't' })).rejects.toThrow(/single plain email address/);
    }
    expect(received.length).toBe(before);
  });

  it('fails (does not hang) when nothing listens', async () => {
    const closed = new SMTPServer({ disabledCommands: ['STARTTLS', 'AUTH'], authOptional: true, logger: false });
    const port = await new Promise<number>((resolve) =>
      closed.listen(0, '127.0.0.1', () => resolve((closed.server.address() as AddressInfo).port)),
    );
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const transport = createSmtpTransport(`smtp://127.0.0.1:${port}`, 'no-reply@g3d.test');
    await expect(transport.send(passwordChangedMail({ to: 'alice@example.com' }))).rejects.toThrow();
  });
});

describe('createRecordingTransport', () => {
  it('records what was sent, template kind included', async () => {
    const { transport, sent } = createRecordingTransport();
    await transport.send(passwordChangedMail({ to: 'bob@example.com' }));
    expect(sent).toEqual([expect.objectContaining({ to: 'bob@example.com', kind: 'password_changed' })]);
  });
});

describe('mail templates', () => {
  const link = 'https://app.g3d.test/x#token=t0k3n';

  it('word each mail and carry its kind and links', () => {
    const verify = verifyEmailMail({ to: 'a@example.com', link, expiresInHours: 24 });
    expect(verify).toMatchObject({ kind: 'verify_email', to: 'a@example.com' });
    expect(verify.text).toContain(`\n${link}\n`);
    expect(verify.text).toContain('24 hours');

    const exists = emailAlreadyRegisteredMail({
      to: 'a@example.com',
      loginLink: 'https://app.g3d.test/login',
      resetLink: 'https://app.g3d.test/reset',
    });
    expect(exists.kind).toBe('email_exists');
    expect(exists.text).toContain('https://app.g3d.test/login');
    expect(exists.text).toContain('https://app.g3d.test/reset');

    const reset = resetPasswordMail({ to: 'a@example.com', link, expiresInMinutes: 1 });
    expect(reset.kind).toBe('reset_password');
    expect(reset.text).toContain('1 minute ');

    const changed = passwordChangedMail({ to: 'a@example.com' });
    expect(changed.kind).toBe('password_changed');
    for (const mail of [verify, exists, reset, changed]) {
      expect(mail.subject).not.toMatch(/[\r\n]/);
      expect(mail.text.length).toBeGreaterThan(50);
    }
  });

  it('refuse links that are not absolute http(s) URLs', () => {
    for (const bad of ['javascript:alert(1)', '/relative', 'https://x.test/a\nb', 'not a url']) {
      expect(() => verifyEmailMail({ to: 'a@example.com', link: bad, expiresInHours: 1 })).toThrow();
    }
  });
});

describe("identity's mail over SMTP", () => {
  const received: { to: string[]; raw: string }[] = [];
  let refuse = false;
  let smtp: SMTPServer;
  let harness: Harness;

  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onRcptTo(_address, _session, callback) {
        callback(refuse ? Object.assign(new Error('mailbox unavailable'), { responseCode: 450 }) : undefined);
      },
      onData(stream, session, callback) {
        let raw = '';
        stream.on('data', (chunk: Buffer) => (raw += chunk.toString()));
        stream.on('end', () => {
          received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const port = (smtp.server.address() as AddressInfo).port;
    // Registration mails need no other service: identity alone.
    harness = await startSubgraphs(
      { identity },
      { env: { SMTP_URL: `smtp://127.0.0.1:${port}?ignoreTLS=true`, MAIL_RETRY_SECONDS: '0.3' } },
    );
  });
  afterAll(async () => {
    await harness?.close();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  });

  const register = (email: string) =>
    run(harness.as(), REGISTER, {
      input: registration(email, { password: 'mail test passphrase', gdprConsent: false }),
    });
  const outboxRow = async (email: string) =>
    (
      await harness.db.pool.query<{ sent_at: Date | null; attempts: number; last_error: string | null }>(
        `SELECT sent_at, attempts, last_error FROM mail.mail_outbox WHERE "to" = $1`,
        [email],
      )
    ).rows;

  async function until(check: () => Promise<boolean> | boolean, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('delivers the verification mail through SMTP and marks it sent in the outbox', async () => {
    expect((await register('smtp-one@a.example')).errors).toBeUndefined();
    // Sent right after the answer (the mail committed with the account).
    await until(() => received.some((m) => m.to.includes('smtp-one@a.example')));
    const mail = received.find((m) => m.to.includes('smtp-one@a.example'));
    // The body is quoted-printable: undo soft line breaks and the encoded "=".
    const body = (mail?.raw ?? '').replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    expect(body).toMatch(/verify-email\?token=[A-Za-z0-9_-]{43}/);
    await until(async () => (await outboxRow('smtp-one@a.example'))[0]?.sent_at != null);
    expect(await outboxRow('smtp-one@a.example')).toHaveLength(1);
    // With SMTP configured the development mailbox is off, even for platform administrators.
    const mailbox = await run(harness.as(platformAdmin()), DEV_MAILBOX, { to: 'smtp-one@a.example' });
    expect(mailbox.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(mailbox.errors?.[0]?.message).toBe('The development mailbox is disabled');
  });

  it('keeps a refused mail in the outbox (the request still succeeds) and retries it until delivered', async () => {
    refuse = true;
    expect((await register('smtp-two@a.example')).errors).toBeUndefined();
    await until(async () => ((await outboxRow('smtp-two@a.example'))[0]?.attempts ?? 0) >= 1);
    const [row] = await outboxRow('smtp-two@a.example');
    expect(row).toMatchObject({ sent_at: null });
    expect(row?.last_error).toMatch(/mailbox unavailable/);
    expect(received.some((m) => m.to.includes('smtp-two@a.example'))).toBe(false);
    refuse = false;
    await until(() => received.some((m) => m.to.includes('smtp-two@a.example')));
    await until(async () => (await outboxRow('smtp-two@a.example'))[0]?.sent_at != null);
  });
});
