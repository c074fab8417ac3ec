// The outbox is replica-safe: a message is claimed before it is sent, so two processes running the mail job on
// one database (or the job beside a slow inline send) deliver each queued mail exactly once.
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';

import { createDatabase, type Database } from '@g3d/db';
import { createLogger } from '@g3d/kit';
import { createSmtpTransport, Mailer, type MailSender } from '@g3d/mail';
import { childEnv, createTestDatabase, testConfig, type TestDatabase } from '@g3d/testkit';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const logger = createLogger({ level: 'silent' });
let database: TestDatabase;
let db: Database;
let smtp: SMTPServer;
let smtpUrl: string;
const received: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDatabase({ url: database.url, poolMax: database.kind === 'pglite' ? 1 : 4 });
  smtp = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    onData(stream, session, callback) {
      stream.on('data', () => {});
      // A slow server: sends overlap across processes.
      stream.on('end', () =>
        setTimeout(() => {
          received.push(...session.envelope.rcptTo.map((r) => r.address));
          callback();
        }, 20),
      );
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
  smtpUrl = `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}?ignoreTLS=true`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
  await db.close();
  await database.drop();
});
beforeEach(async () => {
  received.length = 0;
  await db.pool.query('DELETE FROM mail.mail_outbox');
});

async function queue(n: number): Promise<string[]> {
  const to = Array.from({ length: n }, (_, i) => `user${i}@example.com`);
  await db.prisma.mailMessage.createMany({
    data: to.map((address) => ({ to: address, subject: 's', text: 't', kind: 'test' })),
  });
  return to;
}

function runJob(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', new URL('./fixtures/mail-job-child.ts', import.meta.url).pathname],
      {
        env: childEnv({ MAIL_TEST_DB_URL: database.url, MAIL_TEST_SMTP_URL: smtpUrl }),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`mail job failed: ${err}`))));
  });
}

const sorted = (values: string[]) => [...values].sort();

describe('mail outbox', () => {
  it.runIf(testConfig.DATABASE_URL)(
    'two processes running the mail job send each queued mail exactly once',
    async () => {
      const addresses = await queue(40);
      const [a, b] = await Promise.all([runJob(), runJob()]);
      expect(a + b).toBe(40);
      expect(sorted(received)).toEqual(sorted(addresses));
      const { rows } = await db.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM mail.mail_outbox WHERE sent_at IS NOT NULL AND attempts = 1',
      );
      expect(rows[0]?.n).toBe(40);
    },
  );

  it('two mailers in one process (the embedded default) send each queued mail exactly once', async () => {
    const addresses = await queue(20);
    const transport = createSmtpTransport(smtpUrl, 'G3D <no-reply@g3d.test>');
    const one = new Mailer(db.prisma, transport, logger);
    const two = new Mailer(db.prisma, transport, logger);
    const drain = async (mailer: Mailer) => {
      let sent = 0;
      for (let n = -1; n !== 0;) sent += n = await mailer.retryPending(3);
      return sent;
    };
    const [a, b] = await Promise.all([drain(one), drain(two)]);
    expect(a + b).toBe(20);
    expect(sorted(received)).toEqual(sorted(addresses));
  });

  it('the job leaves a mail alone while an inline send holds its claim', async () => {
    let release: () => void = () => {};
    const slow: MailSender = { send: () => new Promise<void>((resolve) => (release = resolve)) };
    const sending = new Mailer(db.prisma, slow, logger).send({
      to: 'a@example.com',
      subject: 's',
      text: 't',
      kind: 'k',
    });
    await new Promise((r) => setTimeout(r, 100));
    const job = new Mailer(db.prisma, createSmtpTransport(smtpUrl, 'G3D <no-reply@g3d.test>'), logger);
    expect(await job.retryPending()).toBe(0);
    release();
    await sending;
    expect(await job.retryPending()).toBe(0);
    expect(received).toEqual([]);
  });

  it('retries what SMTP refused, at most five times, and keeps the last error', async () => {
    await queue(1);
    const refusing: MailSender = { send: async () => Promise.reject(new Error('550 mailbox unavailable')) };
    const mailer = new Mailer(db.prisma, refusing, logger);
    for (let i = 0; i < 7; i += 1) await mailer.retryPending();
    const { rows } = await db.pool.query<{ attempts: number; last_error: string; sent_at: Date | null }>(
      'SELECT attempts, last_error, sent_at FROM mail.mail_outbox',
    );
    expect(rows).toEqual([{ attempts: 5, last_error: '550 mailbox unavailable', sent_at: null }]);
  });
});
