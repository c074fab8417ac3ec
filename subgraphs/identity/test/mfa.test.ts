// TOTP MFA (the mfa module, and loginWithMfa) on the subgraph harness: enrolment (secret, otpauth URI, QR code,
// 10 backup codes), login then needs the second factor, a replayed code is refused, backup codes work once;
// hostile codes and passwords get stable codes everywhere and MFA stays on; every mutation needs a signed-in
// person.
import { generateTotp } from '@g3d/identity';
import {
  BEGIN_MFA_ENROLLMENT,
  caller,
  CONFIRM_MFA_ENROLLMENT,
  DISABLE_MFA,
  type Harness,
  LOGIN,
  LOGIN_WITH_MFA,
  ME,
  MY_AUDIT_EVENTS,
  ok,
  REGENERATE_BACKUP_CODES,
  registerAndSignIn,
  run,
  type Session,
  type SubgraphClient,
} from '@g3d/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { call, expectCoercionError, expectError, GOOD_PASSWORD, KB10, startIdentity } from './support.ts';

let harness: Harness;
let anonymous: SubgraphClient;
beforeAll(async () => {
  harness = await startIdentity();
  anonymous = harness.as();
});
afterAll(() => harness?.close());

const BEGIN_MFA = 'mutation($p: String!) { beginMfaEnrollment(password: $p) { secret } }';
const CONFIRM_MFA = 'mutation($c: String!) { confirmMfaEnrollment(code: $c) { codes } }';
const REGENERATE_CODES = 'mutation($c: String!) { regenerateBackupCodes(code: $c) { codes } }';
const DISABLE = 'mutation($p: String!, $c: String!) { disableMfa(password: $p, code: $c) }';
const LOGIN_MFA = LOGIN_WITH_MFA.document;

const tryLogin = (email: string, password: string) =>
  call<{ login: { accessToken: string } }>(anonymous, LOGIN.document, { input: { email, password } });

const mfaEnabled = async (user: Session) => (await ok(user.client, ME)).me?.mfaEnabled;

describe('MFA enrolment and sign-in', () => {
  const EMAIL = 'dana.doe@example.com';
  let user: Session;
  let secret: string;
  let backupCodes: string[];
  let enrolmentCode: string;

  beforeAll(async () => {
    user = await registerAndSignIn(harness, EMAIL, GOOD_PASSWORD);
  });

  it('enrols TOTP MFA: secret + otpauth URI + QR code, confirmed by a first code, 10 backup codes', async () => {
    const begin = (await ok(user.client, BEGIN_MFA_ENROLLMENT, { password: GOOD_PASSWORD })).beginMfaEnrollment;
    secret = begin.secret;
    expect(begin.otpauthUri).toMatch(/^otpauth:\/\/totp\/G3D:dana\.doe%40example\.com\?secret=/);
    expect(begin.qrCodeDataUrl).toMatch(/^data:image\/png;base64,/);
    expect(await mfaEnabled(user)).toBe(false);
    enrolmentCode = await generateTotp({ secret });
    const confirmed = await ok(user.client, CONFIRM_MFA_ENROLLMENT, { code: enrolmentCode });
    backupCodes = confirmed.confirmMfaEnrollment.codes;
    expect(backupCodes).toHaveLength(10);
    expect(new Set(backupCodes).size).toBe(10);
    expect(await mfaEnabled(user)).toBe(true);
  });

  it('login now requires the second factor; a replayed code is refused; a fresh code completes it', async () => {
    const first = await tryLogin(EMAIL, GOOD_PASSWORD);
    expect(first.errors?.[0]?.extensions?.code).toBe('MFA_REQUIRED');
    const mfaToken = first.errors?.[0]?.extensions?.mfaToken as string;
    expect(mfaToken).toBeTruthy();
    // The very code used for enrolment, sent again: its time step is used (a code generated now could belong to
    // the next step when the 30 s boundary passed in between, and be fresh).
    const replayed = await run(anonymous, LOGIN_WITH_MFA, { input: { mfaToken, code: enrolmentCode } });
    expect(replayed.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // A code of the next time step (accepted within the ±1 step window) is fresh.
    const next = await generateTotp({ secret, now: Date.now() + 30_000 });
    const done = await ok(anonymous, LOGIN_WITH_MFA, { input: { mfaToken, code: next } });
    expect(done.loginWithMfa.user.email).toBe(EMAIL);
    const session = await harness.withToken(done.loginWithMfa.accessToken);
    const audit = await ok(session, MY_AUDIT_EVENTS, { first: 50 });
    expect(audit.myAuditEvents.events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['mfa.code_replayed', 'mfa.enabled', 'login.mfa_required', 'login.succeeded']),
    );
  });

  it('a backup code signs in once', async () => {
    const challenge = await tryLogin(EMAIL, GOOD_PASSWORD);
    const mfaToken = challenge.errors?.[0]?.extensions?.mfaToken as string;
    expect(
      (await run(anonymous, LOGIN_WITH_MFA, { input: { mfaToken, code: backupCodes[0] as string } })).errors,
    ).toBeUndefined();
    const again = await tryLogin(EMAIL, GOOD_PASSWORD);
    const retry = await run(anonymous, LOGIN_WITH_MFA, {
      input: { mfaToken: again.errors?.[0]?.extensions?.mfaToken as string, code: backupCodes[0] as string },
    });
    expect(retry.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('MFA mutations under hostile input', () => {
  let email: string;
  let user: Session;
  let client: SubgraphClient;
  beforeAll(async () => {
    email = 'mfa.hostile@hostile.example';
    user = await registerAndSignIn(harness, email, GOOD_PASSWORD);
    client = user.client;
  });

  it('refuses everything before enrolment with the right codes', async () => {
    expectError(await call(client, CONFIRM_MFA, { c: '123456' }), 'BAD_USER_INPUT', 'code');
    expectError(await call(client, REGENERATE_CODES, { c: '123456' }), 'FORBIDDEN');
    expectError(await call(client, REGENERATE_CODES, { c: KB10 }), 'BAD_USER_INPUT', 'code');
    expectError(await call(client, DISABLE, { p: GOOD_PASSWORD, c: '123456' }), 'CONFLICT');
  });

  it('beginMfaEnrollment: a wrong or hostile password is FORBIDDEN and stores no secret', async () => {
    for (const p of ['', 'wrong password', KB10, 'x'.repeat(200_000), 'a\u0000b', '\ud800']) {
      expectError(await call(client, BEGIN_MFA, { p }), 'FORBIDDEN');
    }
    expectCoercionError(await call(client, BEGIN_MFA, { p: 1 }));
    // No enrolment was started.
    expectError(await call(client, CONFIRM_MFA, { c: '123456' }), 'BAD_USER_INPUT', 'code');
  });

  it('enrols, then refuses hostile codes everywhere with MFA staying on', async () => {
    const begun = await call<{ beginMfaEnrollment: { secret: string } }>(client, BEGIN_MFA, { p: GOOD_PASSWORD });
    const secret = begun.data?.beginMfaEnrollment.secret as string;
    expect(secret).toBeTruthy();
    for (const c of ['', KB10, '12\u00003456', '１２３４５６', '000000', 'abcdef', ' 123456 ']) {
      expectError(await call(client, CONFIRM_MFA, { c }), 'BAD_USER_INPUT', 'code');
    }
    expectCoercionError(await call(client, CONFIRM_MFA, { c: 123456 }));
    const confirmed = await call<{ confirmMfaEnrollment: { codes: string[] } }>(client, CONFIRM_MFA, {
      c: await generateTotp({ secret }),
    });
    const codes = confirmed.data?.confirmMfaEnrollment.codes as string[];
    expect(codes).toHaveLength(10);
    expect(await mfaEnabled(user)).toBe(true);

    expectError(await call(client, BEGIN_MFA, { p: GOOD_PASSWORD }), 'CONFLICT');
    expectError(await call(client, CONFIRM_MFA, { c: '123456' }), 'CONFLICT');

    for (const c of ['', KB10, 'AAAAA-\u0000AAAA']) {
      expectError(await call(client, REGENERATE_CODES, { c }), 'BAD_USER_INPUT', 'code');
    }
    for (const c of ['000000', 'ZZZZZ-ZZZZZ', "' OR 1=1 --", 'a'.repeat(1000)]) {
      expectError(await call(client, REGENERATE_CODES, { c }), 'FORBIDDEN');
    }
    expectCoercionError(await call(client, REGENERATE_CODES, { c: 123456 }));

    for (const p of ['', 'wrong password', KB10, 'a\u0000b']) {
      expectError(await call(client, DISABLE, { p, c: codes[0] }), 'FORBIDDEN');
    }
    expectError(await call(client, DISABLE, { p: GOOD_PASSWORD, c: KB10 }), 'BAD_USER_INPUT', 'code');
    expectError(await call(client, DISABLE, { p: GOOD_PASSWORD, c: 'x\u0000' }), 'BAD_USER_INPUT', 'code');
    expectError(await call(client, DISABLE, { p: GOOD_PASSWORD, c: '999999' }), 'FORBIDDEN');
    expectCoercionError(await call(client, DISABLE, { p: GOOD_PASSWORD }));
    expect(await mfaEnabled(user)).toBe(true);

    // Sign-in now needs the second factor; hostile codes fail cleanly, a backup code works once.
    const first = await tryLogin(email, GOOD_PASSWORD);
    expectError(first, 'MFA_REQUIRED');
    const mfaToken = first.errors?.[0]?.extensions?.mfaToken as string;
    expect(mfaToken).toBeTruthy();
    expectError(await call(anonymous, LOGIN_MFA, { input: { mfaToken, code: KB10 } }), 'BAD_USER_INPUT', 'code');
    expectError(await call(anonymous, LOGIN_MFA, { input: { mfaToken, code: 'a\u0000' } }), 'BAD_USER_INPUT', 'code');
    expectError(await call(anonymous, LOGIN_MFA, { input: { mfaToken, code: '000000' } }), 'UNAUTHENTICATED');
    expectError(await call(anonymous, LOGIN_MFA, { input: { mfaToken, code: 'a'.repeat(1000) } }), 'UNAUTHENTICATED');
    const signedIn = await call(anonymous, LOGIN_MFA, { input: { mfaToken, code: codes[1] } });
    expect(signedIn.errors).toBeUndefined();
    // The challenge and the backup code are spent.
    expectError(await call(anonymous, LOGIN_MFA, { input: { mfaToken, code: codes[2] } }), 'UNAUTHENTICATED');
    const second = await tryLogin(email, GOOD_PASSWORD);
    const mfaToken2 = second.errors?.[0]?.extensions?.mfaToken as string;
    expectError(
      await call(anonymous, LOGIN_MFA, { input: { mfaToken: mfaToken2, code: codes[1] } }),
      'UNAUTHENTICATED',
    );

    // Valid changes still work after all that.
    const regenerated = await call<{ regenerateBackupCodes: { codes: string[] } }>(client, REGENERATE_CODES, {
      c: codes[3],
    });
    const fresh10 = regenerated.data?.regenerateBackupCodes.codes as string[];
    expect(fresh10).toHaveLength(10);
    expectError(await call(client, DISABLE, { p: GOOD_PASSWORD, c: codes[4] }), 'FORBIDDEN');
    expect((await call(client, DISABLE, { p: GOOD_PASSWORD, c: fresh10[0] })).data).toEqual({ disableMfa: true });
    expect(await mfaEnabled(user)).toBe(false);
  });

  it('every MFA mutation needs a signed-in person', async () => {
    const key = harness.as(caller({ kind: 'apiKey', userId: user.userId }));
    const calls = [
      [BEGIN_MFA_ENROLLMENT.document, { password: 'x' }],
      [CONFIRM_MFA_ENROLLMENT.document, { code: '123456' }],
      [REGENERATE_BACKUP_CODES.document, { code: '123456' }],
      [DISABLE_MFA.document, { password: 'x', code: '123456' }],
    ] as const;
    for (const [query, variables] of calls) {
      expectError(await call(anonymous, query, variables), 'UNAUTHENTICATED');
      expectError(await call(key, query, variables), 'FORBIDDEN');
    }
  });
});
