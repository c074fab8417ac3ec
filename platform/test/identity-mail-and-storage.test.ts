// Mail through a real SMTP server (the fake is only the outbound peer): delivered when it answers, kept in the
// outbox and retried when it refuses. Also: password hashes made with old argon2 parameters are upgraded at
// login, and the audit log refuses updates and deletes.
import { hash } from '@node-rs/argon2';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ADMIN, gql, login, startTestPlatform, type TestPlatform } from './helpers.ts';

interface Received {
  to: string[];
  raw: string;
}
const received: Received[] = [];
let refuse = false;
let smtp: SMTPServer;
let platform: TestPlatform;
let db: pg.Client;

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
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
  const port = (smtp.server.address() as { port: number }).port;
  platform = await startTestPlatform({
    SMTP_URL: `smtp://127.0.0.1:${port}?ignoreTLS=true`,
    MAIL_RETRY_SECONDS: '0.3',
  });
  db = new pg.Client({ connectionString: platform.databaseUrl });
  db.on('error', () => {});
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await platform?.close();
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

const register = (email: string) =>
  gql(platform.gatewayUrl, 'mutation($i: RegisterInput!) { register(input: $i) { message } }', {
    variables: {
      i: {
        email,
        password: 'mail test passphrase',
        firstName: 'M',
        lastName: 'T',
        acceptTerms: true,
        acceptPrivacyPolicy: true,
        gdprConsent: false,
      },
    },
  });

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('mail over SMTP', () => {
  it('delivers the verification mail through SMTP and marks it sent in the outbox', async () => {
    expect((await register('smtp-one@a.example')).errors).toBeUndefined();
    const mail = received.find((m) => m.to.includes('smtp-one@a.example'));
    // The body is quoted-printable: undo soft line breaks and the encoded "=".
    const body = (mail?.raw ?? '').replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    expect(body).toMatch(/verify-email\?token=[A-Za-z0-9_-]{43}/);
    const { rows } = await db.query(`SELECT sent_at, attempts FROM mail.mail_outbox WHERE "to" = 'smtp-one@a.example'`);
    expect(rows).toHaveLength(1);
    expect(rows[0].sent_at).not.toBeNull();
    // With SMTP configured the development mailbox is off.
    const mailbox = await gql(platform.gatewayUrl, '{ devMailbox(to: "smtp-one@a.example") { id } }');
    expect(mailbox.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('keeps a refused mail in the outbox (the request still succeeds) and retries it until delivered', async () => {
    refuse = true;
    expect((await register('smtp-two@a.example')).errors).toBeUndefined();
    const { rows } = await db.query(
      `SELECT sent_at, attempts, last_error FROM mail.mail_outbox WHERE "to" = 'smtp-two@a.example'`,
    );
    expect(rows[0]).toMatchObject({ sent_at: null });
    expect(rows[0].attempts).toBeGreaterThanOrEqual(1);
    expect(rows[0].last_error).toMatch(/mailbox unavailable/);
    refuse = false;
    await until(() => received.some((m) => m.to.includes('smtp-two@a.example')));
    await until(
      async () =>
        (await db.query(`SELECT sent_at FROM mail.mail_outbox WHERE "to" = 'smtp-two@a.example'`)).rows[0].sent_at !==
        null,
    );
  });
});

describe('stored credentials and audit', () => {
  it('upgrades a password hash made with old argon2 parameters at the next login', async () => {
    const weak = await hash(ADMIN.password, { algorithm: 2, memoryCost: 4096, timeCost: 1, parallelism: 1 });
    await db.query(`UPDATE identity.users SET password_hash = $1 WHERE email = $2`, [weak, ADMIN.email]);
    await login(platform.gatewayUrl);
    const { rows } = await db.query(`SELECT password_hash FROM identity.users WHERE email = $1`, [ADMIN.email]);
    expect(rows[0].password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    await login(platform.gatewayUrl);
  });

  it('refuses to update or delete audit events (append-only)', async () => {
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM identity.audit_events`);
    expect(rows[0].n).toBeGreaterThan(0);
    await expect(db.query(`UPDATE identity.audit_events SET type = 'tampered'`)).rejects.toThrow(/append-only/);
    await expect(db.query(`DELETE FROM identity.audit_events`)).rejects.toThrow(/append-only/);
    const after = await db.query(`SELECT count(*)::int AS n FROM identity.audit_events WHERE type = 'tampered'`);
    expect(after.rows[0].n).toBe(0);
  });
});
