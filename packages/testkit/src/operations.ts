// The GraphQL documents module tests keep retyping, typed, and the small flows built from them (register and
// verify an account, sign in, read a mailed token) on the subgraph harness. Documents select the fields most
// tests want; a test that needs others writes its own.
import { randomUUID } from 'node:crypto';

import type { Caller, ClientInfo } from '@g3d/auth';

import { caller, type GraphQLResult, type Harness, type SubgraphClient } from './harness.ts';

type Variables = Record<string, unknown>;
type NoVariables = Record<string, never>;

/** A GraphQL document with the shape of its data and variables. */
export interface Operation<TData, TVariables extends Variables = Variables> {
  readonly document: string;
  /** Type information only: never set. */
  readonly types?: { data: TData; variables: TVariables };
}

const operation = <TData, TVariables extends Variables = Variables>(
  document: string,
): Operation<TData, TVariables> => ({
  document,
});

/** Variables are optional only for operations that take none. */
type Arguments<TVariables> = [TVariables] extends [NoVariables] ? [variables?: TVariables] : [variables: TVariables];

/** Sends `op` with `variables` (typed), the answer as it comes. */
export function run<TData, TVariables extends Variables>(
  client: SubgraphClient,
  op: Operation<TData, TVariables>,
  ...variables: Arguments<TVariables>
): Promise<GraphQLResult<TData>> {
  return client.gql<TData>(op.document, variables[0]);
}

/** Sends `op` and returns its data; throws with the errors when there are any. */
export async function ok<TData, TVariables extends Variables>(
  client: SubgraphClient,
  op: Operation<TData, TVariables>,
  ...variables: Arguments<TVariables>
): Promise<TData> {
  const result = await run(client, op, ...variables);
  if (result.errors?.length || !result.data) {
    throw new Error(`${op.document.slice(0, 60)}: ${JSON.stringify(result.errors ?? result)}`);
  }
  return result.data;
}

// ---------------------------------------------------------------------------------------------------------------
// identity

export interface AuthTokens {
  accessToken: string;
  tokenType: string;
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
  user: { id: string; email: string };
}
const TOKENS = 'accessToken tokenType expiresIn refreshToken refreshExpiresIn user { id email }';

export interface RegisterInput {
  email: string;
  password: string;
  firstName: string;
  lastName: string;
  displayName?: string;
  acceptTerms: boolean;
  acceptPrivacyPolicy: boolean;
  gdprConsent: boolean;
}

export interface DevMail {
  id: string;
  to: string;
  subject: string;
  text: string;
  kind: string;
}

export interface Me {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  displayName: string;
  emailVerified: boolean;
  mfaEnabled: boolean;
}

export const REGISTER = operation<{ register: { message: string } }, { input: RegisterInput }>(
  'mutation Register($input: RegisterInput!) { register(input: $input) { message } }',
);
export const VERIFY_EMAIL = operation<{ verifyEmail: boolean }, { token: string }>(
  'mutation VerifyEmail($token: String!) { verifyEmail(token: $token) }',
);
export const RESEND_VERIFICATION = operation<{ resendVerification: boolean }, { email: string }>(
  'mutation ResendVerification($email: String!) { resendVerification(email: $email) }',
);
export const REQUEST_PASSWORD_RESET = operation<{ requestPasswordReset: boolean }, { email: string }>(
  'mutation RequestPasswordReset($email: String!) { requestPasswordReset(email: $email) }',
);
export const RESET_PASSWORD = operation<{ resetPassword: boolean }, { input: { token: string; newPassword: string } }>(
  'mutation ResetPassword($input: ResetPasswordInput!) { resetPassword(input: $input) }',
);
export const DEV_MAILBOX = operation<{ devMailbox: DevMail[] }, { to: string }>(
  'query DevMailbox($to: String!) { devMailbox(to: $to) { id to subject text kind } }',
);

export const LOGIN = operation<{ login: AuthTokens }, { input: { email: string; password: string } }>(
  `mutation Login($input: LoginInput!) { login(input: $input) { ${TOKENS} } }`,
);
export const LOGIN_WITH_MFA = operation<{ loginWithMfa: AuthTokens }, { input: { mfaToken: string; code: string } }>(
  `mutation LoginWithMfa($input: LoginWithMfaInput!) { loginWithMfa(input: $input) { ${TOKENS} } }`,
);
export const REFRESH_TOKENS = operation<{ refreshTokens: AuthTokens }, { refreshToken: string }>(
  `mutation RefreshTokens($refreshToken: String!) { refreshTokens(refreshToken: $refreshToken) { ${TOKENS} } }`,
);
export const SWITCH_ORGANIZATION = operation<
  { switchOrganization: { accessToken: string; tokenType: string; expiresIn: number; organizationId: string } },
  { organizationId: string }
>(
  'mutation SwitchOrganization($organizationId: ID!) { switchOrganization(organizationId: $organizationId) { accessToken tokenType expiresIn organizationId } }',
);
export const LOGOUT = operation<{ logout: boolean }, NoVariables>('mutation Logout { logout }');
export const CHANGE_PASSWORD = operation<
  { changePassword: boolean },
  { input: { currentPassword: string; newPassword: string; endOtherSessions?: boolean } }
>('mutation ChangePassword($input: ChangePasswordInput!) { changePassword(input: $input) }');

export const ME = operation<{ me: Me | null }, NoVariables>(
  'query Me { me { id email firstName lastName displayName emailVerified mfaEnabled } }',
);

export const MY_SESSIONS = operation<{ mySessions: { id: string; current: boolean }[] }, NoVariables>(
  'query MySessions { mySessions { id current } }',
);
export const REVOKE_SESSION = operation<{ revokeSession: boolean }, { id: string }>(
  'mutation RevokeSession($id: ID!) { revokeSession(id: $id) }',
);
export const REVOKE_OTHER_SESSIONS = operation<{ revokeOtherSessions: number }, NoVariables>(
  'mutation RevokeOtherSessions { revokeOtherSessions }',
);

export const BEGIN_MFA_ENROLLMENT = operation<
  { beginMfaEnrollment: { secret: string; otpauthUri: string; qrCodeDataUrl: string } },
  { password: string }
>(
  'mutation BeginMfaEnrollment($password: String!) { beginMfaEnrollment(password: $password) { secret otpauthUri qrCodeDataUrl } }',
);
export const CONFIRM_MFA_ENROLLMENT = operation<{ confirmMfaEnrollment: { codes: string[] } }, { code: string }>(
  'mutation ConfirmMfaEnrollment($code: String!) { confirmMfaEnrollment(code: $code) { codes } }',
);
export const REGENERATE_BACKUP_CODES = operation<{ regenerateBackupCodes: { codes: string[] } }, { code: string }>(
  'mutation RegenerateBackupCodes($code: String!) { regenerateBackupCodes(code: $code) { codes } }',
);
export const DISABLE_MFA = operation<{ disableMfa: boolean }, { password: string; code: string }>(
  'mutation DisableMfa($password: String!, $code: String!) { disableMfa(password: $password, code: $code) }',
);

export const MY_DATA_EXPORT = operation<{ myDataExport: Record<string, unknown> }, NoVariables>(
  'query MyDataExport { myDataExport }',
);
export const ERASE_MY_ACCOUNT = operation<{ eraseMyAccount: boolean }, { password: string; code?: string }>(
  'mutation EraseMyAccount($password: String!, $code: String) { eraseMyAccount(password: $password, code: $code) }',
);

export interface AuditEvent {
  type: string;
  userId: string | null;
  ip: string;
  userAgent: string;
  metadata: Record<string, unknown>;
}
const AUDIT_EVENT = 'type userId ip userAgent metadata';
export const MY_AUDIT_EVENTS = operation<{ myAuditEvents: { events: AuditEvent[] } }, { first: number }>(
  `query MyAuditEvents($first: Int) { myAuditEvents(first: $first) { events { ${AUDIT_EVENT} } } }`,
);
/** Platform administrators: every account's security events. */
export const AUDIT_EVENTS = operation<
  { auditEvents: { events: AuditEvent[] } },
  { userId?: string; type?: string; first: number }
>(
  `query AuditEvents($userId: ID, $type: String, $first: Int) { auditEvents(userId: $userId, type: $type, first: $first) { events { ${AUDIT_EVENT} } } }`,
);

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  revokedAt: string | null;
}
export const CREATE_API_KEY = operation<
  { createApiKey: { secret: string; apiKey: ApiKey } },
  { input: { name: string; scopes?: string[]; expiresAt?: string } }
>(
  'mutation CreateApiKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id name prefix scopes revokedAt } } }',
);
export const REVOKE_API_KEY = operation<{ revokeApiKey: ApiKey }, { id: string }>(
  'mutation RevokeApiKey($id: ID!) { revokeApiKey(id: $id) { id name prefix scopes revokedAt } }',
);

// ---------------------------------------------------------------------------------------------------------------
// organization

export interface CreateOrganizationInput {
  name: string;
  slug: string;
  description?: string;
  website?: string;
}

export const CREATE_ORGANIZATION = operation<
  { createOrganization: { id: string; slug: string; name: string } },
  { input: CreateOrganizationInput }
>(
  'mutation CreateOrganization($input: CreateOrganizationInput!) { createOrganization(input: $input) { id slug name } }',
);
export const UPDATE_ORGANIZATION = operation<
  { updateOrganization: { id: string; name: string } },
  { id: string; input: Record<string, unknown> }
>(
  'mutation UpdateOrganization($id: ID!, $input: UpdateOrganizationInput!) { updateOrganization(id: $id, input: $input) { id name } }',
);
export const DELETE_ORGANIZATION = operation<{ deleteOrganization: boolean }, { id: string; confirmSlug: string }>(
  'mutation DeleteOrganization($id: ID!, $confirmSlug: String!) { deleteOrganization(id: $id, confirmSlug: $confirmSlug) }',
);

export interface Invitation {
  id: string;
  email: string;
  roles: string[];
  status: string;
  expiresAt: string;
  createdAt: string;
}
const INVITATION = 'id email roles status expiresAt createdAt';
export const INVITE_MEMBER = operation<
  { inviteMember: Invitation },
  { input: { organizationId: string; email: string; roles?: string[] } }
>(`mutation InviteMember($input: InviteMemberInput!) { inviteMember(input: $input) { ${INVITATION} } }`);
export const ACCEPT_INVITATION = operation<
  { acceptInvitation: { roles: string[]; organization: { id: string; slug: string }; user: { id: string } } },
  { token: string }
>(
  'mutation AcceptInvitation($token: String!) { acceptInvitation(token: $token) { roles organization { id slug } user { id } } }',
);
export const REVOKE_INVITATION = operation<{ revokeInvitation: Invitation }, { id: string }>(
  `mutation RevokeInvitation($id: ID!) { revokeInvitation(id: $id) { ${INVITATION} } }`,
);
export const RESEND_INVITATION = operation<{ resendInvitation: Invitation }, { id: string }>(
  `mutation ResendInvitation($id: ID!) { resendInvitation(id: $id) { ${INVITATION} } }`,
);

type MemberVariables = { organizationId: string; userId: string };
export const CHANGE_MEMBER_ROLES = operation<
  { changeMemberRoles: { roles: string[] } },
  MemberVariables & { roles: string[] }
>(
  'mutation ChangeMemberRoles($organizationId: ID!, $userId: ID!, $roles: [String!]!) { changeMemberRoles(organizationId: $organizationId, userId: $userId, roles: $roles) { roles } }',
);
export const REMOVE_MEMBER = operation<{ removeMember: boolean }, MemberVariables>(
  'mutation RemoveMember($organizationId: ID!, $userId: ID!) { removeMember(organizationId: $organizationId, userId: $userId) }',
);
export const LEAVE_ORGANIZATION = operation<{ leaveOrganization: boolean }, { organizationId: string }>(
  'mutation LeaveOrganization($organizationId: ID!) { leaveOrganization(organizationId: $organizationId) }',
);
export const TRANSFER_OWNERSHIP = operation<{ transferOwnership: { roles: string[] } }, MemberVariables>(
  'mutation TransferOwnership($organizationId: ID!, $userId: ID!) { transferOwnership(organizationId: $organizationId, userId: $userId) { roles } }',
);

// ---------------------------------------------------------------------------------------------------------------
// Flows

export const DEFAULT_PASSWORD = 'a long enough passphrase';

/** A valid registration for `email` (names from the address: first.last@…), with `overrides`. */
export function registration(email: string, overrides: Partial<RegisterInput> = {}): RegisterInput {
  const [firstName = 'Test', lastName = 'User'] = email.split('@')[0]?.split('.') ?? [];
  return {
    email,
    password: DEFAULT_PASSWORD,
    firstName: firstName || 'Test',
    lastName: lastName || 'User',
    acceptTerms: true,
    acceptPrivacyPolicy: true,
    gdprConsent: true,
    ...overrides,
  };
}

/** A person calling organization without identity: a user with a random id (and `email` in the token). */
export function person(email: string, fields: Partial<Caller> = {}): Caller {
  return caller({ email, roles: ['user'], ...fields, userId: fields.userId ?? randomUUID() });
}

/** A platform administrator (role super_admin), as identity issues it to the seeded admin. */
export function platformAdmin(fields: Partial<Caller> = {}): Caller {
  return caller({
    email: 'root@platform.example',
    roles: ['user', 'admin', 'super_admin'],
    ...fields,
    userId: fields.userId ?? randomUUID(),
  });
}

/**
 * The mails written for `to` (the platform outbox, newest first), read from the database: works whichever
 * subgraph sent them and whether or not identity runs.
 */
export async function outbox(harness: Pick<Harness, 'db'>, to: string): Promise<DevMail[]> {
  const rows = await harness.db.prisma.mailMessage.findMany({
    where: { to: to.trim().toLowerCase() },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
  });
  return rows.map(({ id, to, subject, text, kind }) => ({ id, to, subject, text, kind }));
}

/** The single-use token of the newest mail of `kind` to `to` (the `token` parameter of its link). */
export async function mailedToken(
  harness: Pick<Harness, 'db'>,
  to: string,
  kind: 'verify_email' | 'reset_password' | 'invitation',
): Promise<string> {
  const mail = (await outbox(harness, to)).find((m) => m.kind === kind);
  const token = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail?.text ?? '')?.[1];
  if (!token) throw new Error(`no ${kind} mail with a token for ${to}`);
  return token;
}

/**
 * Registers `email` on identity and verifies it with the link from the development mailbox (devMailbox: it answers
 * platform administrators, whenever no SMTP server is configured). Returns the new user's id.
 */
export async function registerAndVerify(
  harness: Harness,
  email: string,
  password = DEFAULT_PASSWORD,
  overrides: Partial<RegisterInput> = {},
): Promise<{ userId: string }> {
  const anonymous = harness.as(undefined, { service: 'identity' });
  await ok(anonymous, REGISTER, { input: registration(email, { password, ...overrides }) });
  const { devMailbox } = await ok(harness.as(platformAdmin(), { service: 'identity' }), DEV_MAILBOX, { to: email });
  const link = devMailbox.find((m) => m.kind === 'verify_email');
  const token = /[?&]token=([A-Za-z0-9_-]+)/.exec(link?.text ?? '')?.[1];
  if (!token) throw new Error(`no verification mail for ${email}: ${JSON.stringify(devMailbox)}`);
  await ok(anonymous, VERIFY_EMAIL, { token });
  const user = await harness.db.prisma.user.findUnique({
    where: { email: email.trim().toLowerCase() },
    select: { id: true },
  });
  if (!user) throw new Error(`no account for ${email}`);
  return { userId: user.id };
}

/** A signed-in user: their tokens, and a client that calls identity (or `service`) with the access token. */
export interface Session extends AuthTokens {
  userId: string;
  sessionId: string;
  /** Calls identity as this session (the caller rebuilt from the access token, as the gateway does). */
  client: SubgraphClient;
  /** Calls another started subgraph as this session. */
  on(service: string): Promise<SubgraphClient>;
}

/** Signs in with `email` and `password` on identity (from `client`, when given). */
export async function signIn(
  harness: Harness,
  email: string,
  password = DEFAULT_PASSWORD,
  options: { client?: ClientInfo } = {},
): Promise<Session> {
  const from = options.client ? { client: options.client } : {};
  const { login } = await ok(harness.as(undefined, { service: 'identity', ...from }), LOGIN, {
    input: { email, password },
  });
  return session(harness, login, from);
}

/** A Session from tokens identity issued (login, loginWithMfa, refreshTokens). */
export async function session(
  harness: Harness,
  tokens: AuthTokens,
  options: { client?: ClientInfo } = {},
): Promise<Session> {
  const claims = decodeClaims(tokens.accessToken);
  return {
    ...tokens,
    userId: tokens.user.id,
    sessionId: String(claims.sid),
    client: await harness.withToken(tokens.accessToken, { service: 'identity', ...options }),
    on: (service) => harness.withToken(tokens.accessToken, { service, ...options }),
  };
}

/** registerAndVerify, then signIn. */
export async function registerAndSignIn(
  harness: Harness,
  email: string,
  password = DEFAULT_PASSWORD,
): Promise<Session> {
  await registerAndVerify(harness, email, password);
  return signIn(harness, email, password);
}

/** The payload of a JWT, unverified (for assertions). */
export function decodeClaims(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}
