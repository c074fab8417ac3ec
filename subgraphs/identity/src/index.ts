// The identity subgraph: accounts, credentials, sessions and tokens, MFA, the security audit log.
import {
  type AccessTokenSettings,
  type AuthContext,
  hasScopes,
  isAuthenticated,
  isPlatformAdmin,
  isPublic,
  isSelf,
  isSignedInUser,
  or,
  PLATFORM_SCOPES,
  rule,
  type SigningKey,
  type VerifiedApiKey,
} from '@g3d/auth';
import type { Database } from '@g3d/db';
import { badUserInput, forbidden, notFound, unauthenticated } from '@g3d/errors';
import {
  type BaseContext,
  createServiceClient,
  createSubgraph,
  type DataLoader,
  DateTime,
  JSONScalar,
  loadSdl,
  manyByKey,
  mergeTypeDefs,
  oneByKey,
  type SubgraphDefinition,
  type SubgraphDeps,
} from '@g3d/kit';
import { createSmtpTransport, Mailer } from '@g3d/mail';
import type { Store } from '@g3d/store';
import type { JWK } from 'jose';

import { AccountService } from './modules/account/account.service.ts';
import { ApiKeysService } from './modules/api-keys/api-keys.service.ts';
import { AuditLog } from './modules/audit/audit.log.ts';
import { AuthService } from './modules/auth/auth.service.ts';
import { DEFAULT_THROTTLE, LoginThrottle, type ThrottleSettings } from './modules/auth/login-throttle.ts';
import {
  NO_ORGANIZATIONS,
  type OrganizationDirectory,
  remoteOrganizationDirectory,
  type UserMembership,
} from './modules/auth/organization-directory.ts';
import { hashPassword } from './modules/auth/passwords.ts';
import { type IssuedTokens, SessionService } from './modules/auth/sessions.service.ts';
import { MfaService } from './modules/mfa/mfa.service.ts';
import { createSecretBox } from './modules/mfa/secret-box.ts';
import { createPasswordPolicy } from './modules/passwords/policy.ts';
import { type RegisterInput, RegistrationService } from './modules/registration/registration.service.ts';
import { cleanName, normalizeEmail } from './modules/shared/input.ts';
import { applyPreferences, readPreferences } from './modules/users/preferences.ts';
import { CredentialsRepository, type UserRecord, UsersRepository } from './modules/users/users.repository.ts';

export { loadOrCreateSecretBoxKey, secretBoxKeyFromText } from './modules/mfa/secret-box.ts';
export { generateTotp } from './modules/mfa/totp.ts';
export { normalizeEmail };

export interface IdentityOptions {
  signingKey: SigningKey;
  /** Public keys of retired signing keys whose tokens may still be valid: published in the JWKS too. */
  previousPublicKeys?: JWK[];
  tokens: AccessTokenSettings;
  /** Absolute session lifetime (refresh tokens die with it). Default 30 days. */
  sessionTtlSeconds?: number;
  refreshGraceSeconds?: number;
  /** 32-byte key encrypting TOTP secrets at rest. */
  mfaEncryptionKey: Buffer;
  /** Web app base URL for links in mails. */
  appUrl: string;
  smtpUrl?: string | undefined;
  mailFrom?: string;
  passwordMinLength?: number;
  /** The devMailbox query answers only when true (development/test without SMTP). */
  devMailbox: boolean;
  /** How often unsent mail is retried (SMTP failures). Default 60 s. */
  mailRetryIntervalMs?: number;
  throttle?: Partial<ThrottleSettings>;
  issuerName?: string;
  /**
   * Any URL of the organization subgraph: tokens then carry the current organization, its roles and scopes.
   * Without it (identity alone, in its own tests) tokens carry no organization.
   */
  organizationUrl?: string | (() => string) | undefined;
}

interface IdentityContext extends AuthContext {
  users: DataLoader<string, UserRecord | null>;
  /** Set by login/refresh so the new user's own fields can be returned in the same response. */
  signedIn: { userId: string | null };
  /** Users' organization memberships (from organization, one call per request batch). */
  organizationsOfUser: DataLoader<string, UserMembership[]>;
}

type Ctx = BaseContext & IdentityContext;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What a member of an organization that enforces MFA may still do before enrolling. */
export const MFA_ENROLMENT_FIELDS = [
  'Query.me',
  'Mutation.beginMfaEnrollment',
  'Mutation.confirmMfaEnrollment',
  'Mutation.refreshTokens',
  'Mutation.switchOrganization',
  'Mutation.logout',
];

const MODULES = ['users', 'auth', 'registration', 'sessions', 'mfa', 'api-keys', 'account', 'audit'];
export const identityTypeDefs = mergeTypeDefs(
  MODULES.map((m) => loadSdl(import.meta.url, `./modules/${m}/schema.graphql`)),
);

/** The parent user is the caller, or the user who just signed in with this very request. */
const isSelfOrJustSignedIn = rule({ cache: 'no_cache' })((parent: { id: string }, _args, ctx: Ctx) => {
  if (ctx.signedIn.userId === parent.id) return true;
  if (ctx.caller.kind === 'anonymous') return unauthenticated();
  return ctx.caller.userId === parent.id || forbidden();
});

/**
 * The caller administers their current organization (org:admin in the token) and the parent user is a member
 * of it (asked from organization, batched per request). Parent-dependent: never cached.
 */
const administersTheUser = rule({ cache: 'no_cache' })(async (parent: { id: string }, _args, ctx: Ctx) => {
  const organizationId = ctx.caller.organizationId;
  if (ctx.caller.kind !== 'user' || !organizationId || !hasScopes(ctx.caller, [PLATFORM_SCOPES.orgAdmin]))
    return forbidden();
  const memberships = await ctx.organizationsOfUser.load(parent.id);
  return memberships.some((m) => m.organizationId === organizationId) || forbidden();
});

export function identityPermissions(options: { devMailbox: boolean }) {
  const ownOrAdmin = or(isSelfOrJustSignedIn, isPlatformAdmin);
  const devOnly = rule('devMailboxEnabled', { cache: 'contextual' })(
    () => options.devMailbox || forbidden('The development mailbox is disabled'),
  );
  return {
    Query: {
      me: isPublic,
      mySessions: isSignedInUser,
      myApiKeys: isSignedInUser,
      myDataExport: isSignedInUser,
      myAuditEvents: isAuthenticated,
      auditEvents: isPlatformAdmin,
      devMailbox: devOnly,
      _service: isPublic,
      _entities: isPublic,
    },
    Mutation: {
      register: isPublic,
      verifyEmail: isPublic,
      resendVerification: isPublic,
      requestPasswordReset: isPublic,
      resetPassword: isPublic,
      login: isPublic,
      loginWithMfa: isPublic,
      refreshTokens: isPublic,
      switchOrganization: isSignedInUser,
      logout: isSignedInUser,
      changePassword: isSignedInUser,
      updateProfile: isSignedInUser,
      updatePreferences: isSignedInUser,
      updateConsent: isSignedInUser,
      beginMfaEnrollment: isSignedInUser,
      confirmMfaEnrollment: isSignedInUser,
      regenerateBackupCodes: isSignedInUser,
      disableMfa: isSignedInUser,
      eraseMyAccount: isSignedInUser,
      createApiKey: isSignedInUser,
      revokeApiKey: isSignedInUser,
      revokeSession: isSignedInUser,
      revokeOtherSessions: isSignedInUser,
    },
    User: {
      id: or(isAuthenticated, isSelfOrJustSignedIn),
      displayName: or(isAuthenticated, isSelfOrJustSignedIn),
      firstName: or(isAuthenticated, isSelfOrJustSignedIn),
      lastName: or(isAuthenticated, isSelfOrJustSignedIn),
      // Organization administrators see who their members are and whether they have MFA.
      email: or(ownOrAdmin, administersTheUser),
      emailVerified: or(ownOrAdmin, administersTheUser),
      mfaEnabled: or(ownOrAdmin, administersTheUser),
      createdAt: ownOrAdmin,
      lastLoginAt: ownOrAdmin,
      preferences: or(isSelf(), isSelfOrJustSignedIn),
      consent: or(isSelf(), isSelfOrJustSignedIn),
    },
    // Reachable only through guarded parents (User.preferences/consent, the callers' own lists).
    Preferences: isPublic,
    NotificationPreferences: isPublic,
    PrivacyPreferences: isPublic,
    Consent: isPublic,
    AuthTokens: isPublic,
    AccessToken: isSignedInUser,
    RegistrationResult: isPublic,
    DevMail: isPublic,
    Session: isAuthenticated,
    AuditEvent: isAuthenticated,
    AuditEventPage: isAuthenticated,
    ApiKey: isSignedInUser,
    CreatedApiKey: isSignedInUser,
    MfaEnrollment: isSignedInUser,
    BackupCodes: isSignedInUser,
    _Service: isPublic,
  };
}

export interface IdentityServices {
  organizations: OrganizationDirectory;
  users: UsersRepository;
  account: AccountService;
  apiKeys: ApiKeysService;
  auth: AuthService;
  sessions: SessionService;
  registration: RegistrationService;
  mfa: MfaService;
  audit: AuditLog;
  mailer: Mailer;
}

export function createIdentityServices(
  db: Database,
  store: Store,
  deps: SubgraphDeps,
  options: IdentityOptions,
): IdentityServices {
  const prisma = db.prisma;
  const users = new UsersRepository(prisma);
  const credentials = new CredentialsRepository(prisma, db.query);
  const audit = new AuditLog(prisma);
  const policy = createPasswordPolicy({ minLength: options.passwordMinLength ?? 8 });
  const organizations = options.organizationUrl
    ? remoteOrganizationDirectory(
        createServiceClient({
          self: 'identity',
          key: options.signingKey,
          target: 'organization',
          url: options.organizationUrl,
        }),
      )
    : NO_ORGANIZATIONS;
  const sessions = new SessionService(
    prisma,
    store,
    options.signingKey,
    {
      access: options.tokens,
      sessionTtlSeconds: options.sessionTtlSeconds ?? 30 * 24 * 3600,
      refreshGraceSeconds: options.refreshGraceSeconds ?? 10,
    },
    audit,
    db.query,
    organizations,
  );
  const mailer = new Mailer(
    prisma,
    options.smtpUrl
      ? createSmtpTransport(options.smtpUrl, options.mailFrom ?? 'G3D Platform <no-reply@g3d.local>')
      : null,
    deps.logger.child({ service: 'identity', module: 'mail' }),
  );
  const mfa = new MfaService({
    prisma,
    credentials,
    audit,
    secretBox: createSecretBox(options.mfaEncryptionKey),
    issuer: options.issuerName ?? 'G3D',
  });
  const auth = new AuthService({
    users,
    credentials,
    sessions,
    throttle: new LoginThrottle(store, { ...DEFAULT_THROTTLE, ...options.throttle }),
    audit,
    store,
    policy,
    signingKey: options.signingKey,
    issuer: options.tokens.issuer,
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
    appUrl: options.appUrl,
  });
  const apiKeys = new ApiKeysService(prisma, store, audit, organizations);
  const account = new AccountService({ prisma, store, credentials, sessions, audit, secondFactor: mfa, apiKeys });
  return {
    organizations,
    users,
    auth,
    sessions,
    registration,
    mfa,
    audit,
    mailer,
    account,
    apiKeys,
  };
}

const MAX_PAGE = 200;
function pageSize(first: number | null | undefined): number {
  const n = first ?? 50;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE)
    throw badUserInput(`first must be between 1 and ${MAX_PAGE}`, 'first');
  return n;
}

function requireUser(ctx: Ctx): string {
  if (!ctx.caller.userId) throw unauthenticated();
  return ctx.caller.userId;
}

export function identityDefinition(
  services: IdentityServices,
  options: IdentityOptions,
): SubgraphDefinition<IdentityContext> {
  const { users, auth, sessions, registration, mfa, audit, mailer, apiKeys, account, organizations } = services;
  const signIn = (ctx: Ctx, tokens: IssuedTokens) => {
    ctx.signedIn.userId = tokens.user.id;
    return tokens;
  };
  return {
    name: 'identity',
    typeDefs: identityTypeDefs,
    permissions: identityPermissions(options),
    mfaEnrolmentFields: MFA_ENROLMENT_FIELDS,
    createContext: (base) => ({
      caller: base.caller,
      users: oneByKey(
        (ids) => users.findByIds(ids),
        (u) => u.id,
      ),
      signedIn: { userId: null },
      organizationsOfUser: manyByKey(
        (ids) => organizations.membershipsOfUsers(ids),
        (m) => m.userId,
      ),
    }),
    resolvers: {
      DateTime,
      JSON: JSONScalar,
      Query: {
        me: (_p, _a, ctx: Ctx) => (ctx.caller.userId ? ctx.users.load(ctx.caller.userId) : null),
        mySessions: async (_p, _a, ctx: Ctx) =>
          (await sessions.listActive(requireUser(ctx))).map((s) => ({ ...s, current: s.id === ctx.caller.sessionId })),
        myAuditEvents: (_p, args: { first?: number; before?: string }, ctx: Ctx) =>
          audit.page({ userId: requireUser(ctx) }, pageSize(args.first), args.before),
        auditEvents: (_p, args: { userId?: string; type?: string; first?: number; before?: string }) =>
          audit.page(
            { ...(args.userId ? { userId: args.userId } : {}), ...(args.type ? { type: args.type } : {}) },
            pageSize(args.first),
            args.before,
          ),
        devMailbox: (_p, args: { to: string }) => mailer.mailbox(normalizeEmail(args.to, 'to')),
        myApiKeys: (_p, _a, ctx: Ctx) => apiKeys.list(requireUser(ctx)),
        myDataExport: (_p, _a, ctx: Ctx) => account.export(requireUser(ctx), ctx.client),
      },
      Mutation: {
        register: async (_p, { input }: { input: RegisterInput }, ctx: Ctx) => ({
          message: await registration.register(input, ctx.client),
        }),
        verifyEmail: async (_p, { token }: { token: string }, ctx: Ctx) => {
          await registration.verifyEmail(token, ctx.client);
          return true;
        },
        resendVerification: async (_p, { email }: { email: string }) => {
          await registration.resendVerification(email);
          return true;
        },
        requestPasswordReset: async (_p, { email }: { email: string }, ctx: Ctx) => {
          await registration.requestPasswordReset(email, ctx.client);
          return true;
        },
        resetPassword: async (_p, { input }: { input: { token: string; newPassword: string } }, ctx: Ctx) => {
          await registration.resetPassword(input, ctx.client);
          return true;
        },
        login: async (_p, { input }: { input: { email: string; password: string } }, ctx: Ctx) =>
          signIn(ctx, await auth.login(input, ctx.client)),
        loginWithMfa: async (_p, { input }: { input: { mfaToken: string; code: string } }, ctx: Ctx) =>
          signIn(ctx, await auth.loginWithMfa(input, ctx.client)),
        refreshTokens: async (_p, { refreshToken }: { refreshToken: string }, ctx: Ctx) => {
          if (refreshToken.length === 0 || refreshToken.length > 256)
            throw badUserInput('Invalid refresh token', 'refreshToken');
          return signIn(ctx, await sessions.refresh(refreshToken, ctx.client, (id) => users.findById(id)));
        },
        switchOrganization: async (_p, { organizationId }: { organizationId: string }, ctx: Ctx) => {
          if (!UUID.test(organizationId)) throw notFound('No such organization');
          const user = await users.findById(ctx.caller.userId as string);
          if (!user) throw unauthenticated();
          return sessions.switchOrganization(ctx.caller.sessionId as string, user, organizationId);
        },
        logout: async (_p, _a, ctx: Ctx) => {
          if (!ctx.caller.sessionId) return false;
          const ended = await sessions.revoke(ctx.caller.sessionId, 'logout');
          await audit.record({ type: 'session.logout', userId: ctx.caller.userId, client: ctx.client });
          return ended;
        },
        changePassword: async (
          _p,
          { input }: { input: { currentPassword: string; newPassword: string; endOtherSessions?: boolean | null } },
          ctx: Ctx,
        ) => {
          await auth.changePassword(
            requireUser(ctx),
            ctx.caller.sessionId,
            { ...input, endOtherSessions: input.endOtherSessions ?? true },
            ctx.client,
          );
          return true;
        },
        updateProfile: async (
          _p,
          { input }: { input: { firstName?: string | null; lastName?: string | null; displayName?: string | null } },
          ctx: Ctx,
        ) => {
          const userId = requireUser(ctx);
          const data: Record<string, string> = {};
          if (input.firstName != null) data.firstName = cleanName(input.firstName, 'firstName', { required: true });
          if (input.lastName != null) data.lastName = cleanName(input.lastName, 'lastName', { required: true });
          if (input.displayName != null)
            data.displayName = cleanName(input.displayName, 'displayName', { required: true });
          const user = await users.update(userId, data);
          await audit.record({
            type: 'user.profile_updated',
            userId,
            client: ctx.client,
            metadata: { fields: Object.keys(data) },
          });
          return user;
        },
        updatePreferences: async (_p, { input }: { input: Parameters<typeof applyPreferences>[1] }, ctx: Ctx) => {
          const userId = requireUser(ctx);
          const current = await users.findById(userId);
          if (!current) throw unauthenticated();
          const next = applyPreferences(readPreferences(current.preferences), input);
          return users.update(userId, { preferences: next as object });
        },
        updateConsent: async (
          _p,
          { input }: { input: { gdprConsent?: boolean | null; ccpaOptOut?: boolean | null } },
          ctx: Ctx,
        ) => {
          const userId = requireUser(ctx);
          const now = new Date();
          const data: Record<string, unknown> = {};
          if (input.gdprConsent != null) Object.assign(data, { gdprConsent: input.gdprConsent, gdprConsentAt: now });
          if (input.ccpaOptOut != null) Object.assign(data, { ccpaOptOut: input.ccpaOptOut, ccpaOptOutAt: now });
          const user = await users.update(userId, data);
          await audit.record({ type: 'user.consent_updated', userId, client: ctx.client, metadata: { ...input } });
          return user;
        },
        beginMfaEnrollment: (_p, { password }: { password: string }, ctx: Ctx) =>
          mfa.beginEnrollment(requireUser(ctx), password, ctx.client),
        confirmMfaEnrollment: (_p, { code }: { code: string }, ctx: Ctx) =>
          mfa.confirmEnrollment(requireUser(ctx), code, ctx.client),
        regenerateBackupCodes: (_p, { code }: { code: string }, ctx: Ctx) =>
          mfa.regenerateBackupCodes(requireUser(ctx), code, ctx.client),
        disableMfa: async (_p, { password, code }: { password: string; code: string }, ctx: Ctx) => {
          await mfa.disable(requireUser(ctx), password, code, ctx.client);
          return true;
        },
        eraseMyAccount: async (_p, args: { password: string; code?: string | null }, ctx: Ctx) => {
          await account.erase(requireUser(ctx), args, ctx.client);
          return true;
        },
        createApiKey: (
          _p,
          { input }: { input: { name: string; scopes?: string[] | null; expiresAt?: Date | null } },
          ctx: Ctx,
        ) => apiKeys.create(ctx.caller, input, ctx.client),
        revokeApiKey: (_p, { id }: { id: string }, ctx: Ctx) => apiKeys.revoke(requireUser(ctx), id, ctx.client),
        revokeSession: async (_p, { id }: { id: string }, ctx: Ctx) => {
          const userId = requireUser(ctx);
          const session = await sessions.findActive(id).catch(() => null);
          // Another user's session looks exactly like a missing one.
          if (!session || session.userId !== userId) throw badUserInput('No such session', 'id');
          await sessions.revoke(id, 'user');
          await audit.record({ type: 'session.revoked', userId, client: ctx.client, metadata: { sessionId: id } });
          return true;
        },
        revokeOtherSessions: async (_p, _a, ctx: Ctx) => {
          const userId = requireUser(ctx);
          const ended = await sessions.revokeAll(userId, 'user', ctx.caller.sessionId);
          await audit.record({ type: 'sessions.revoked_others', userId, client: ctx.client, metadata: { ended } });
          return ended;
        },
      },
      User: {
        __resolveReference: (ref: { id: string }, ctx: Ctx) => ctx.users.load(ref.id),
        preferences: (user: UserRecord) => readPreferences(user.preferences),
        consent: (user: UserRecord) => user,
      },
    },
    jobs: [{ name: 'mail-retry', intervalMs: options.mailRetryIntervalMs ?? 60_000, run: () => mailer.retryPending() }],
    internalRoutes: (router) => {
      // The gateway asks which caller an API key stands for. Only requests signed by the gateway get here.
      router.post('/api-keys/verify', (req, res) => {
        const key = typeof req.body?.key === 'string' && req.body.key.length <= 256 ? (req.body.key as string) : '';
        apiKeys.verify(key).then(
          (verified: VerifiedApiKey | null) =>
            verified ? res.json(verified) : res.status(404).json({ error: 'invalid key' }),
          () => res.status(503).json({ error: 'unavailable' }),
        );
      });
    },
    routes: (router) => {
      router.get('/.well-known/jwks.json', (_req, res) => {
        // The current key first, then retired keys until their last tokens expire (rotation without logouts).
        const keys = [options.signingKey.publicJwk, ...(options.previousPublicKeys ?? [])];
        res.set('cache-control', 'public, max-age=60').json({ keys });
      });
    },
  };
}

export function createIdentityService(deps: SubgraphDeps & { db: Database }, options: IdentityOptions) {
  const services = createIdentityServices(deps.db, deps.store, deps, options);
  return createSubgraph(identityDefinition(services, options), deps);
}

/** Creates the first platform administrator when there are no users yet. */
export async function seedFirstAdmin(
  db: Database,
  admin: { email: string; password: string },
): Promise<{ created: boolean; userId: string | null }> {
  const users = new UsersRepository(db.prisma);
  if ((await users.count()) > 0) return { created: false, userId: null };
  const now = new Date();
  const user = await users.create({
    email: normalizeEmail(admin.email),
    passwordHash: await hashPassword(admin.password),
    displayName: 'Administrator',
    roles: ['user', 'admin', 'super_admin'],
    emailVerified: true,
    emailVerifiedAt: now,
    termsAcceptedAt: now,
    privacyAcceptedAt: now,
  });
  return { created: true, userId: user.id };
}
