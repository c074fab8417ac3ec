// Login (password, then the second factor when enabled), password change and logout.
import type { Caller, ClientInfo, SigningKey } from '@g3d/auth';
import { AppError, badUserInput, notFound, unauthenticated } from '@g3d/errors';
import { cleanSecret, isUuid, MAX_SECRET_LENGTH, normalizeEmail } from '@g3d/kit';
import type { Store } from '@g3d/store';
import { jwtVerify, SignJWT } from 'jose';

import type { AuditLog } from '../audit/audit.service.ts';
import type { PasswordPolicy } from '../passwords/policy.ts';
import type { IssuedTokens, SessionService } from '../sessions/sessions.service.ts';
import type { CredentialsRepository, UserRecord, UsersRepository } from '../users/users.repository.ts';
import type { CurrentPasswordCheck } from './current-password.ts';
import type { DeviceTokens } from './device-tokens.ts';
import type { LoginThrottle } from './login-throttle.ts';
import { hashPassword, needsRehash, verifyAgainstDummy, verifyPassword } from './passwords.ts';

/** The second factor, provided by the MFA module. */
export interface SecondFactor {
  /**
   * Checks a TOTP or backup code for the user; records use (replay-proof) and audits. Wrong codes are counted
   * per account: once the second factor is locked it throws RATE_LIMITED (reason SECOND_FACTOR_LOCKED), even for
   * the right code.
   */
  verify(userId: string, code: string, client: ClientInfo): Promise<boolean>;
}

/** Tokens of a sign-in: the session's, and the device token the client presents at its next logins. */
export type SignedIn = IssuedTokens & { deviceToken: string };

export interface LoginInput {
  email: string;
  password: string;
  /** From an earlier sign-in of this client (AuthTokens.deviceToken): smart lockout, see login-throttle.ts. */
  deviceToken?: string | null;
}

const MFA_TOKEN_TYPE = 'mfa-challenge+jwt';
const MFA_TOKEN_TTL_S = 300;
const MFA_ATTEMPTS_PER_CHALLENGE = 5;

export class AuthService {
  constructor(
    private readonly deps: {
      users: UsersRepository;
      credentials: CredentialsRepository;
      sessions: SessionService;
      throttle: LoginThrottle;
      devices: DeviceTokens;
      currentPassword: CurrentPasswordCheck;
      audit: AuditLog;
      store: Store;
      policy: PasswordPolicy;
      signingKey: SigningKey;
      issuer: string;
      secondFactor: () => SecondFactor;
    },
  ) {}

  async login(input: LoginInput, client: ClientInfo): Promise<SignedIn> {
    const email = normalizeEmail(input.email);
    if (input.password.length === 0 || input.password.length > MAX_SECRET_LENGTH)
      throw badUserInput('Invalid password', 'password');
    // A familiar device (it signed in to this address before) is counted on its own: see login-throttle.ts.
    const deviceId = await this.deps.devices.deviceOf(input.deviceToken, email);
    const ticket = await this.deps.throttle.begin(email, client.ip, deviceId);
    if (!ticket.ok) {
      throw new AppError('RATE_LIMITED', 'Too many attempts; try again later', {
        retryAfterSeconds: ticket.retryAfterSeconds,
      });
    }
    const found = await this.deps.credentials.findByEmail(email);
    // Same work and the same answer for an unknown email and a wrong password.
    const ok = found
      ? await verifyPassword(found.passwordHash, input.password)
      : await verifyAgainstDummy(input.password);
    if (!found || !ok) {
      const { lockedNow } = await this.deps.throttle.failed(email, deviceId);
      const userId = found?.id ?? null;
      const metadata = { email, ...(deviceId ? { familiarDevice: true } : {}) };
      await this.deps.audit.record({ type: 'login.failed', userId, client, metadata });
      if (lockedNow) {
        // Which kind locked: the account against unfamiliar clients, or one familiar device.
        const locked = deviceId ? { lock: 'familiar_device', deviceId } : { lock: 'account' };
        await this.deps.audit.record({ type: 'login.locked', userId, client, metadata: { email, ...locked } });
      }
      throw unauthenticated('Invalid email or password');
    }
    await this.deps.throttle.succeeded(email, deviceId);
    if (needsRehash(found.passwordHash)) {
      // Parameters changed since this hash was made: upgrade it now that we have the password.
      await this.deps.credentials.setPasswordHash(found.id, await hashPassword(input.password));
    }
    const { passwordHash: _hash, mfaSecret: _secret, mfaLastTimeStep: _step, ...user } = found;
    if (!user.emailVerified)
      throw new AppError('FORBIDDEN', 'Verify your email address first', { reason: 'EMAIL_NOT_VERIFIED' });
    if (user.mfaEnabled) {
      await this.deps.audit.record({ type: 'login.mfa_required', userId: user.id, client });
      throw new AppError('MFA_REQUIRED', 'A second factor is required', {
        mfaToken: await this.mfaToken(user.id, deviceId),
      });
    }
    return this.finish(user, client, deviceId);
  }

  async loginWithMfa(input: { mfaToken: string; code: string }, client: ClientInfo): Promise<SignedIn> {
    // A JWT: room for one as long as an access token, so a misplaced token is refused as a token, not as input.
    const token = cleanSecret(input.mfaToken, 'mfaToken', 4096);
    const code = cleanSecret(input.code, 'code');
    const challenge = await this.readMfaToken(token);
    // Bounded guesses per challenge, counted before checking (concurrent guesses cannot exceed it).
    const attempts = await this.deps.store.incr(`mfa:attempts:${challenge.jti}`, { ttlMs: MFA_TOKEN_TTL_S * 1000 });
    if (attempts > MFA_ATTEMPTS_PER_CHALLENGE) {
      throw new AppError('RATE_LIMITED', 'Too many codes for this sign-in; start again', { retryAfterSeconds: 0 });
    }
    const user = await this.deps.users.findById(challenge.userId);
    if (!user?.mfaEnabled) throw unauthenticated('Invalid or expired MFA token');
    if (!(await this.deps.secondFactor().verify(user.id, code, client))) throw unauthenticated('Invalid code');
    // A challenge completes once.
    if (!(await this.deps.store.setIfAbsent(`mfa:done:${challenge.jti}`, '1', { ttlMs: MFA_TOKEN_TTL_S * 1000 }))) {
      throw unauthenticated('Invalid or expired MFA token');
    }
    return this.finish(user, client, challenge.deviceId);
  }

  /** New tokens for a refresh token (which stops working): see SessionService.refresh. */
  refresh(refreshToken: string, client: ClientInfo): Promise<IssuedTokens> {
    if (refreshToken.length === 0 || refreshToken.length > 256)
      throw badUserInput('Invalid refresh token', 'refreshToken');
    return this.deps.sessions.refresh(refreshToken, client, (id) => this.deps.users.findById(id));
  }

  /** A new access token of the caller's session acting in another of their organizations. */
  async switchOrganization(caller: Caller, organizationId: string) {
    if (!isUuid(organizationId)) throw notFound('No such organization');
    const user = await this.deps.users.findById(caller.userId as string);
    if (!user) throw unauthenticated();
    return this.deps.sessions.switchOrganization(caller.sessionId as string, user, organizationId);
  }

  private async finish(user: UserRecord, client: ClientInfo, deviceId: string | null): Promise<SignedIn> {
    // The audit event is written by the session's own statement (one round trip).
    const [tokens, deviceToken] = await Promise.all([
      this.deps.sessions.start(user, client, { type: 'login.succeeded', userId: user.id, client }),
      // The device keeps its id (its own failure count) and gets a renewed token.
      this.deps.devices.issue(user.id, user.email, deviceId),
    ]);
    return { ...tokens, deviceToken };
  }

  /** The MFA challenge; it carries the familiar device's id, if any, to the token loginWithMfa renews. */
  private mfaToken(userId: string, deviceId: string | null): Promise<string> {
    return new SignJWT(deviceId ? { did: deviceId } : {})
      .setProtectedHeader({ alg: 'EdDSA', typ: MFA_TOKEN_TYPE, kid: this.deps.signingKey.kid })
      .setIssuer(this.deps.issuer)
      .setAudience('g3d-mfa')
      .setSubject(userId)
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime(`${MFA_TOKEN_TTL_S}s`)
      .sign(this.deps.signingKey.privateKey);
  }

  private async readMfaToken(token: string): Promise<{ userId: string; jti: string; deviceId: string | null }> {
    try {
      const { payload } = await jwtVerify(token, this.deps.signingKey.publicKey, {
        algorithms: ['EdDSA'],
        typ: MFA_TOKEN_TYPE,
        issuer: this.deps.issuer,
        audience: 'g3d-mfa',
        requiredClaims: ['sub', 'jti', 'exp'],
      });
      const deviceId = typeof payload.did === 'string' ? payload.did : null;
      return { userId: payload.sub as string, jti: payload.jti as string, deviceId };
    } catch {
      throw unauthenticated('Invalid or expired MFA token');
    }
  }

  async changePassword(
    userId: string,
    sessionId: string | null,
    input: { currentPassword: string; newPassword: string; endOtherSessions: boolean },
    client: ClientInfo,
  ): Promise<void> {
    const found = await this.deps.credentials.findById(userId);
    if (!found) throw unauthenticated();
    await this.deps.currentPassword.require(found, input.currentPassword, client, 'The current password is wrong');
    const problem = this.deps.policy.check(input.newPassword, {
      email: found.email,
      names: [found.firstName, found.lastName, found.displayName],
    });
    if (problem) throw badUserInput(problem.message, 'newPassword');
    await this.deps.credentials.setPasswordHash(userId, await hashPassword(input.newPassword));
    const ended = input.endOtherSessions ? await this.deps.sessions.revokeAll(userId, 'password_change', sessionId) : 0;
    await this.deps.audit.record({ type: 'password.changed', userId, client, metadata: { endedSessions: ended } });
  }
}
