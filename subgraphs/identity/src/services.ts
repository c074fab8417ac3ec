// Identity's composition root: every service and repository, built once per process from the settings, the
// keys and the directory of organization memberships.
import type { Database } from '@g3d/db';
import { eventPublisher } from '@g3d/events';
import type { Logger } from '@g3d/kit';
import { createSmtpTransport, Mailer } from '@g3d/mail';
import type { Store } from '@g3d/store';

import type { IdentityConfig } from './config.ts';
import type { IdentityKeys } from './keys.ts';
import { AccountService } from './modules/account/account.service.ts';
import { ApiKeysService } from './modules/api-keys/api-keys.service.ts';
import { AuditLog } from './modules/audit/audit.service.ts';
import { AttemptThrottle, DEFAULT_ATTEMPT_LIMITS, type LockRecorder } from './modules/auth/attempt-throttle.ts';
import { AuthService } from './modules/auth/auth.service.ts';
import { CurrentPasswordCheck } from './modules/auth/current-password.ts';
import { DeviceTokens } from './modules/auth/device-tokens.ts';
import { DEFAULT_THROTTLE, LoginThrottle } from './modules/auth/login-throttle.ts';
import type { OrganizationDirectory } from './modules/auth/organization-directory.ts';
import { MfaService } from './modules/mfa/mfa.service.ts';
import { createSecretBox } from './modules/mfa/secret-box.ts';
import { createPasswordPolicy } from './modules/passwords/policy.ts';
import { RegistrationService } from './modules/registration/registration.service.ts';
import { SessionService } from './modules/sessions/sessions.service.ts';
import { CredentialsRepository, UsersRepository } from './modules/users/users.repository.ts';
import { ProfileService } from './modules/users/users.service.ts';

export interface IdentityServices {
  organizations: OrganizationDirectory;
  users: UsersRepository;
  profile: ProfileService;
  account: AccountService;
  apiKeys: ApiKeysService;
  auth: AuthService;
  sessions: SessionService;
  registration: RegistrationService;
  mfa: MfaService;
  audit: AuditLog;
  mailer: Mailer;
  /** The devMailbox query answers only when true (development/test without SMTP, never in production). */
  devMailbox: boolean;
}

export interface IdentityServiceDeps {
  db: Database;
  store: Store;
  logger: Logger;
  config: IdentityConfig;
  keys: IdentityKeys;
  organizations: OrganizationDirectory;
}

/** Wrong current passwords of a signed-in user before further checks are refused (15 min, doubling). */
export const CURRENT_PASSWORD_MAX_FAILURES = 5;
/** Wrong second-factor codes, across MFA challenges, before the second factor is locked (15 min, doubling). */
export const SECOND_FACTOR_MAX_FAILURES = 10;

export function createIdentityServices(deps: IdentityServiceDeps): IdentityServices {
  const { db, store, config, keys, organizations } = deps;
  const prisma = db.prisma;
  const users = new UsersRepository(prisma);
  const credentials = new CredentialsRepository(prisma, db.query);
  const audit = new AuditLog(prisma);
  const policy = createPasswordPolicy({ minLength: config.PASSWORD_MIN_LENGTH });
  const sessions = new SessionService(
    prisma,
    store,
    keys.signingKey,
    {
      access: {
        issuer: config.AUTH_ISSUER,
        audience: config.AUTH_AUDIENCE,
        ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
      },
      sessionTtlSeconds: config.SESSION_TTL_SECONDS,
      refreshGraceSeconds: config.REFRESH_GRACE_SECONDS,
    },
    audit,
    db.query,
    organizations,
  );
  const mailer = new Mailer(
    prisma,
    config.SMTP_URL ? createSmtpTransport(config.SMTP_URL, config.MAIL_FROM) : null,
    deps.logger.child({ service: 'identity', module: 'mail' }),
  );
  // Every lock of a secret check is also recorded in identity's table (refilled into an emptied store).
  const locks: LockRecorder = {
    record: async (key, until) => {
      await prisma.securityLock.upsert({
        where: { key },
        create: { key, lockedUntil: until },
        update: { lockedUntil: until },
      });
    },
  };
  const currentPassword = new CurrentPasswordCheck({
    throttle: new AttemptThrottle(
      store,
      'password-check',
      { ...DEFAULT_ATTEMPT_LIMITS, maxFailures: CURRENT_PASSWORD_MAX_FAILURES },
      locks,
    ),
    audit,
  });
  const mfa = new MfaService({
    prisma,
    credentials,
    audit,
    secretBox: createSecretBox(keys.mfaKey),
    issuer: 'G3D',
    throttle: new AttemptThrottle(
      store,
      'second-factor',
      { ...DEFAULT_ATTEMPT_LIMITS, maxFailures: SECOND_FACTOR_MAX_FAILURES },
      locks,
    ),
    currentPassword,
    mailer,
  });
  const auth = new AuthService({
    users,
    credentials,
    sessions,
    throttle: new LoginThrottle(
      store,
      { ...DEFAULT_THROTTLE, maxFailures: config.LOGIN_MAX_FAILURES, perIpLimit: config.LOGIN_IP_LIMIT },
      locks,
    ),
    devices: new DeviceTokens(keys.signingKey, config.AUTH_ISSUER),
    currentPassword,
    audit,
    store,
    policy,
    signingKey: keys.signingKey,
    issuer: config.AUTH_ISSUER,
    secondFactor: () => mfa,
  });
  const registration = new RegistrationService({
    prisma,
    users,
    sessions,
    audit,
    mailer,
    store,
    policy,
    appUrl: config.APP_URL,
    mailIpLimit: config.MAIL_IP_LIMIT,
    logger: deps.logger.child({ service: 'identity', module: 'registration' }),
  });
  const apiKeys = new ApiKeysService(prisma, store, audit, organizations);
  const account = new AccountService({
    prisma,
    events: eventPublisher('identity'),
    credentials,
    sessions,
    audit,
    secondFactor: mfa,
    currentPassword,
    apiKeys,
  });
  return {
    organizations,
    users,
    profile: new ProfileService(users, audit),
    auth,
    sessions,
    registration,
    mfa,
    audit,
    mailer,
    account,
    apiKeys,
    devMailbox: config.NODE_ENV !== 'production' && !config.SMTP_URL,
  };
}
