// The whole account life cycle through the gateway: register → verification mail from the outbox → verify →
// login → enrol MFA → login requires TOTP → refresh → refresh-token reuse kills the session → reset password
// → old sessions dead → API key calls `me` → erase account.
import { generateTotp } from '@g3d/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { gql, type GraphQLResponse, startTestPlatform, type TestPlatform } from './helpers.ts';

let platform: TestPlatform;
beforeAll(async () => {
  // No grace window: a reused refresh token is theft at once (the grace window has its own test).
  platform = await startTestPlatform({ REFRESH_GRACE_SECONDS: '0' });
});
afterAll(() => platform?.close());

const EMAIL = 'Dana.Doe@Example.COM';
const PASSWORD = 'a fairly long passphrase';
const NEW_PASSWORD = 'an even longer new passphrase';

const TOKENS = 'accessToken refreshToken expiresIn refreshExpiresIn tokenType user { id email }';
type Tokens = { accessToken: string; refreshToken: string; user: { id: string; email: string } };

const url = () => platform.gatewayUrl;
const ok = <T>(result: GraphQLResponse<T>): T => {
  expect(result.errors).toBeUndefined();
  return result.data as T;
};

async function mailbox(to: string) {
  const result = await gql<{ devMailbox: { kind: string; text: string; subject: string }[] }>(
    url(),
    'query($to: String!) { devMailbox(to: $to) { kind subject text } }',
    { variables: { to } },
  );
  return ok(result).devMailbox;
}
const tokenFrom = (text: string) => /[?&]token=([A-Za-z0-9_-]+)/.exec(text)?.[1] as string;

function register(gdprConsent: boolean): Promise<GraphQLResponse<{ register: { message: string } }>> {
  return gql(url(), 'mutation($input: RegisterInput!) { register(input: $input) { message } }', {
    variables: {
      input: {
        email: EMAIL,
        password: PASSWORD,
        firstName: 'Dana',
        lastName: 'Doe',
        acceptTerms: true,
        acceptPrivacyPolicy: true,
        gdprConsent,
      },
    },
  });
}

async function login(password: string): Promise<GraphQLResponse<{ login: Tokens }>> {
  return gql(url(), `mutation($input: LoginInput!) { login(input: $input) { ${TOKENS} } }`, {
    variables: { input: { email: EMAIL, password } },
  });
}

describe('account life cycle', () => {
  let secret: string;
  let backupCodes: string[];
  let session1: Tokens;

  it('registers, and the verification mail lands in the outbox (not the log only)', async () => {
    const result = await register(true);
    expect(ok(result).register.message).toMatch(/check your inbox/i);
    const mails = await mailbox('dana.doe@example.com');
    expect(mails.map((m) => m.kind)).toEqual(['verify_email']);
  });

  it('cannot log in before verifying, then verifies with the mailed token (once)', async () => {
    const early = await login(PASSWORD);
    expect(early.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'EMAIL_NOT_VERIFIED' });
    const [mail] = await mailbox('dana.doe@example.com');
    const token = tokenFrom(mail?.text ?? '');
    expect(
      ok(await gql(url(), 'mutation($t: String!) { verifyEmail(token: $t) }', { variables: { t: token } })),
    ).toEqual({
      verifyEmail: true,
    });
    const again = await gql(url(), 'mutation($t: String!) { verifyEmail(token: $t) }', { variables: { t: token } });
    expect(again.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'token' });
  });

  it('logs in and sees its own profile', async () => {
    session1 = ok(await login(PASSWORD)).login;
    expect(session1.user.email).toBe('dana.doe@example.com');
    const me = ok(
      await gql<{ me: { email: string; emailVerified: boolean; mfaEnabled: boolean } }>(
        url(),
        '{ me { email emailVerified mfaEnabled } }',
        { token: session1.accessToken },
      ),
    );
    expect(me.me).toEqual({ email: 'dana.doe@example.com', emailVerified: true, mfaEnabled: false });
  });

  it('enrols TOTP MFA: secret + otpauth URI + QR code, confirmed by a first code, 10 backup codes', async () => {
    const begin = ok(
      await gql<{ beginMfaEnrollment: { secret: string; otpauthUri: string; qrCodeDataUrl: string } }>(
        url(),
        'mutation($p: String!) { beginMfaEnrollment(password: $p) { secret otpauthUri qrCodeDataUrl } }',
        { token: session1.accessToken, variables: { p: PASSWORD } },
      ),
    ).beginMfaEnrollment;
    secret = begin.secret;
    expect(begin.otpauthUri).toMatch(/^otpauth:\/\/totp\/G3D:dana\.doe%40example\.com\?secret=/);
    expect(begin.qrCodeDataUrl).toMatch(/^data:image\/png;base64,/);
    const code = await generateTotp({ secret });
    const confirmed = ok(
      await gql<{ confirmMfaEnrollment: { codes: string[] } }>(
        url(),
        'mutation($c: String!) { confirmMfaEnrollment(code: $c) { codes } }',
        { token: session1.accessToken, variables: { c: code } },
      ),
    );
    backupCodes = confirmed.confirmMfaEnrollment.codes;
    expect(backupCodes).toHaveLength(10);
    expect(new Set(backupCodes).size).toBe(10);
  });

  it('login now requires the second factor; a replayed code is refused; a fresh code completes it', async () => {
    const first = await login(PASSWORD);
    expect(first.errors?.[0]?.extensions?.code).toBe('MFA_REQUIRED');
    const mfaToken = first.errors?.[0]?.extensions?.mfaToken as string;
    expect(mfaToken).toBeTruthy();
    // The code used for enrolment belongs to a time step already used: replay.
    const replayed = await gql(url(), 'mutation($i: LoginWithMfaInput!) { loginWithMfa(input: $i) { accessToken } }', {
      variables: { i: { mfaToken, code: await generateTotp({ secret }) } },
    });
    expect(replayed.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // A code of the next time step (accepted within the ±1 step window) is fresh.
    const next = await generateTotp({ secret, now: Date.now() + 30_000 });
    const done = ok(
      await gql<{ loginWithMfa: Tokens }>(
        url(),
        `mutation($i: LoginWithMfaInput!) { loginWithMfa(input: $i) { ${TOKENS} } }`,
        {
          variables: { i: { mfaToken, code: next } },
        },
      ),
    );
    session1 = done.loginWithMfa;
    expect(session1.user.email).toBe('dana.doe@example.com');
    const audit = ok(
      await gql<{ myAuditEvents: { events: { type: string }[] } }>(
        url(),
        '{ myAuditEvents(first: 50) { events { type } } }',
        {
          token: session1.accessToken,
        },
      ),
    );
    expect(audit.myAuditEvents.events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['mfa.code_replayed', 'mfa.enabled', 'login.mfa_required', 'login.succeeded']),
    );
  });

  it('refreshes (rotation); reusing the old refresh token kills the whole session', async () => {
    const refreshed = ok(
      await gql<{ refreshTokens: Tokens }>(
        url(),
        `mutation($r: String!) { refreshTokens(refreshToken: $r) { ${TOKENS} } }`,
        {
          variables: { r: session1.refreshToken },
        },
      ),
    ).refreshTokens;
    expect(refreshed.refreshToken).not.toBe(session1.refreshToken);
    expect(ok(await gql(url(), '{ me { id } }', { token: refreshed.accessToken }))).toEqual({
      me: { id: refreshed.user.id },
    });

    const reuse = await gql(url(), 'mutation($r: String!) { refreshTokens(refreshToken: $r) { accessToken } }', {
      variables: { r: session1.refreshToken },
    });
    expect(reuse.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // The family is dead: the newest refresh token and both access tokens are refused.
    const newest = await gql(url(), 'mutation($r: String!) { refreshTokens(refreshToken: $r) { accessToken } }', {
      variables: { r: refreshed.refreshToken },
    });
    expect(newest.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await gql(url(), '{ me { id } }', { token: refreshed.accessToken })).status).toBe(401);
    expect((await gql(url(), '{ me { id } }', { token: session1.accessToken })).status).toBe(401);
  });

  it('resets the password by mail; every old session dies; the old password stops working', async () => {
    // A live session to watch, signed in with a backup code.
    const challenge = await login(PASSWORD);
    const mfaToken = challenge.errors?.[0]?.extensions?.mfaToken as string;
    const live = ok(
      await gql<{ loginWithMfa: Tokens }>(
        url(),
        `mutation($i: LoginWithMfaInput!) { loginWithMfa(input: $i) { ${TOKENS} } }`,
        {
          variables: { i: { mfaToken, code: backupCodes[0] } },
        },
      ),
    ).loginWithMfa;
    expect((await gql(url(), '{ me { id } }', { token: live.accessToken })).status).toBe(200);

    expect(
      ok(await gql(url(), 'mutation($e: String!) { requestPasswordReset(email: $e) }', { variables: { e: EMAIL } })),
    ).toEqual({
      requestPasswordReset: true,
    });
    const reset = (await mailbox('dana.doe@example.com')).find((m) => m.kind === 'reset_password');
    const token = tokenFrom(reset?.text ?? '');
    expect(
      ok(
        await gql(url(), 'mutation($i: ResetPasswordInput!) { resetPassword(input: $i) }', {
          variables: { i: { token, newPassword: NEW_PASSWORD } },
        }),
      ),
    ).toEqual({ resetPassword: true });

    expect((await gql(url(), '{ me { id } }', { token: live.accessToken })).status).toBe(401);
    const oldRefresh = await gql(url(), 'mutation($r: String!) { refreshTokens(refreshToken: $r) { accessToken } }', {
      variables: { r: live.refreshToken },
    });
    expect(oldRefresh.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await login(PASSWORD)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await login(NEW_PASSWORD)).errors?.[0]?.extensions?.code).toBe('MFA_REQUIRED');
    expect((await mailbox('dana.doe@example.com')).map((m) => m.kind)).toContain('password_changed');
  });

  let apiKey: string;
  let userId: string;

  it('an API key calls `me` (Bearer and x-api-key); revoking it works at once', async () => {
    const challenge = await login(NEW_PASSWORD);
    const session = ok(
      await gql<{ loginWithMfa: Tokens }>(
        url(),
        `mutation($i: LoginWithMfaInput!) { loginWithMfa(input: $i) { ${TOKENS} } }`,
        {
          variables: { i: { mfaToken: challenge.errors?.[0]?.extensions?.mfaToken, code: backupCodes[1] } },
        },
      ),
    ).loginWithMfa;
    session1 = session;
    userId = session.user.id;
    const created = ok(
      await gql<{ createApiKey: { secret: string; apiKey: { id: string; prefix: string } } }>(
        url(),
        'mutation { createApiKey(input: { name: "ci bot" }) { secret apiKey { id prefix } } }',
        { token: session.accessToken },
      ),
    ).createApiKey;
    apiKey = created.secret;
    expect(apiKey).toMatch(new RegExp(`^g3d_${created.apiKey.prefix}_`));
    const viaBearer = await gql<{ me: { id: string; email: string } }>(url(), '{ me { id email } }', { token: apiKey });
    expect(ok(viaBearer).me).toEqual({ id: userId, email: 'dana.doe@example.com' });
    const viaHeader = await gql<{ me: { id: string } }>(url(), '{ me { id } }', { headers: { 'x-api-key': apiKey } });
    expect(ok(viaHeader).me.id).toBe(userId);
    // An API key cannot manage keys or sessions (it is not a signed-in person).
    const escalate = await gql(url(), 'mutation { createApiKey(input: { name: "more" }) { secret } }', {
      token: apiKey,
    });
    expect(escalate.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const wrong = await gql(url(), '{ me { id } }', { token: `${apiKey.slice(0, -4)}AAAA` });
    expect(wrong.status).toBe(401);

    ok(
      await gql(url(), 'mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }', {
        token: session.accessToken,
        variables: { id: created.apiKey.id },
      }),
    );
    const revoked = await gql(url(), '{ me { id } }', { token: apiKey });
    expect(revoked.status).toBe(401);
  });

  it('exports the data, then erases the account: anonymized, signed out, unable to log in', async () => {
    const exported = ok(
      await gql<{ myDataExport: Record<string, unknown> }>(url(), '{ myDataExport }', { token: session1.accessToken }),
    ).myDataExport;
    expect((exported.user as { email: string }).email).toBe('dana.doe@example.com');
    expect(JSON.stringify(exported)).not.toMatch(/argon2|passwordHash|mfaSecret|secretHash/);

    const withoutCode = await gql(url(), 'mutation($p: String!) { eraseMyAccount(password: $p) }', {
      token: session1.accessToken,
      variables: { p: NEW_PASSWORD },
    });
    expect(withoutCode.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    ok(
      await gql(url(), 'mutation($p: String!, $c: String) { eraseMyAccount(password: $p, code: $c) }', {
        token: session1.accessToken,
        variables: { p: NEW_PASSWORD, c: backupCodes[2] },
      }),
    );
    expect((await gql(url(), '{ me { id } }', { token: session1.accessToken })).status).toBe(401);
    expect((await login(NEW_PASSWORD)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await mailbox('dana.doe@example.com')).toEqual([]);
    // The address is free again: registering it creates a new account (a new verification mail).
    const again = await register(false);
    ok(again);
    expect((await mailbox('dana.doe@example.com')).map((m) => m.kind)).toEqual(['verify_email']);
  });
});
