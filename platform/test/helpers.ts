// Boots the whole platform (gateway + every subgraph) on random ports against a fresh test database and an
// isolated store, and gives tests a small GraphQL client.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { createLogger, type Logger } from '@g3d/kit';
import { loadPlatformConfig, RANDOM_PORTS_ENV, type RunningPlatform, startPlatform } from '@g3d/platform';
import { createEmptyDatabase, databaseEnv, testConfig, type TestDatabase, testStorePrefix } from '@g3d/testkit';

export const ADMIN = { email: 'alice@a.example', password: 'correct horse battery staple' };

export interface TestPlatform extends RunningPlatform {
  gatewayUrl: string;
  dataDir: string;
  database: TestDatabase;
  storePrefix: string;
  close(): Promise<void>;
}

export interface TestPlatformOptions {
  /** How often event consumers poll (default 500 ms). */
  eventPollIntervalMs?: number;
  /**
   * Start on a stopped test platform's database, data directory (keys) and store prefix: a restart. Closing the
   * new one drops them.
   */
  reuse?: Pick<TestPlatform, 'database' | 'dataDir' | 'storePrefix'>;
  /** Where the platform logs (default: nowhere). */
  logger?: Logger;
}

export async function startTestPlatform(
  env: Record<string, string> = {},
  options: TestPlatformOptions = {},
): Promise<TestPlatform> {
  const database = options.reuse?.database ?? (await createEmptyDatabase());
  const dataDir = options.reuse?.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'g3d-platform-'));
  const storePrefix = options.reuse?.storePrefix ?? testStorePrefix();
  const config = await loadPlatformConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    ...databaseEnv(database),
    ...(testConfig.REDIS_URL ? { REDIS_URL: testConfig.REDIS_URL } : {}),
    STORE_PREFIX: storePrefix,
    ...RANDOM_PORTS_ENV,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    // Tests send bursts from one address; the rate limit has its own test.
    RATE_LIMIT_PER_IP: '1000000',
    RATE_LIMIT_PER_PRINCIPAL: '1000000',
    ...env,
  });
  const platform = await startPlatform(config, {
    logger: options.logger ?? createLogger({ level: 'silent' }),
    service: 'all',
    ...(options.eventPollIntervalMs ? { eventPollIntervalMs: options.eventPollIntervalMs } : {}),
  });
  return {
    ...platform,
    gatewayUrl: platform.gatewayUrl as string,
    dataDir,
    database,
    storePrefix,
    async close() {
      await platform.stop();
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

/**
 * A signed-in user as a real client holds one: an access token and a refresh token. When the gateway answers
 * AUTHORIZATION_CHANGED (the user's roles changed since the token was issued), `gql` refreshes and retries once.
 */
export class TestClient {
  constructor(
    readonly url: string,
    public accessToken: string,
    public refreshToken: string,
  ) {}

  async refresh(): Promise<void> {
    const result = await gql<{ refreshTokens: { accessToken: string; refreshToken: string } }>(
      this.url,
      'mutation($t: String!) { refreshTokens(refreshToken: $t) { accessToken refreshToken } }',
      { variables: { t: this.refreshToken } },
    );
    if (!result.data) throw new Error(`refresh failed: ${JSON.stringify(result.errors)}`);
    this.accessToken = result.data.refreshTokens.accessToken;
    this.refreshToken = result.data.refreshTokens.refreshToken;
  }

  /** Payload of the current access token (unverified: for assertions). */
  claims(): Record<string, unknown> {
    return JSON.parse(Buffer.from(this.accessToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
  }
}

const authorizationChanged = (r: Pick<GraphQLResponse, 'errors'>) =>
  r.errors?.[0]?.extensions?.reason === 'AUTHORIZATION_CHANGED';

export async function gql<T = Record<string, unknown>>(
  url: string,
  query: string,
  options: { variables?: Record<string, unknown>; token?: string | TestClient; headers?: Record<string, string> } = {},
): Promise<GraphQLResponse<T>> {
  const client = options.token instanceof TestClient ? options.token : null;
  const send = async () => {
    const token = client ? client.accessToken : options.token;
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token as string}` } : {}),
        ...options.headers,
      },
      body: JSON.stringify({ query, variables: options.variables }),
    });
    const body = (await response.json()) as Omit<GraphQLResponse<T>, 'status'>;
    return { status: response.status, ...body };
  };
  const first = await send();
  if (!client || !authorizationChanged(first)) return first;
  await client.refresh();
  return send();
}

/** Signs in and returns a client that refreshes its token when the user's authorization changes. */
export async function signIn(url: string, email: string, password: string): Promise<TestClient> {
  const result = await gql<{ login: { accessToken: string; refreshToken: string } }>(
    url,
    'mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken } }',
    { variables: { input: { email, password } } },
  );
  if (!result.data) throw new Error(`login failed: ${JSON.stringify(result.errors)}`);
  return new TestClient(url, result.data.login.accessToken, result.data.login.refreshToken);
}

export async function login(url: string, email = ADMIN.email, password = ADMIN.password): Promise<string> {
  const result = await gql<{ login: { accessToken: string } }>(
    url,
    'mutation($input: LoginInput!) { login(input: $input) { accessToken } }',
    { variables: { input: { email, password } } },
  );
  const token = result.data?.login.accessToken;
  if (!token) throw new Error(`login failed: ${JSON.stringify(result.errors)}`);
  return token;
}

/** Registers and verifies an account through the API (reading the mail from the development mailbox); returns a token. */
export async function registerUser(url: string, email: string, password = DEFAULT_PASSWORD): Promise<string> {
  await registerAccount(url, email, password);
  return login(url, email, password);
}

export const DEFAULT_PASSWORD = 'a long enough passphrase';

/** registerUser, returning a client that keeps its tokens fresh. */
export async function registerClient(url: string, email: string, password = DEFAULT_PASSWORD): Promise<TestClient> {
  await registerAccount(url, email, password);
  return signIn(url, email, password);
}

/** Registers and verifies an account (the verification link read from the development mailbox). */
export async function registerAccount(url: string, email: string, password = DEFAULT_PASSWORD): Promise<void> {
  const [firstName = 'Test', lastName = 'User'] = email.split('@')[0]?.split('.') ?? [];
  const registered = await gql(url, 'mutation($i: RegisterInput!) { register(input: $i) { message } }', {
    variables: {
      i: { email, password, firstName, lastName, acceptTerms: true, acceptPrivacyPolicy: true, gdprConsent: true },
    },
  });
  if (registered.errors) throw new Error(`register failed: ${JSON.stringify(registered.errors)}`);
  const mail = await devMailbox(url, email);
  const token = mail.find((m) => m.kind === 'verify_email')?.token;
  await gql(url, 'mutation($t: String!) { verifyEmail(token: $t) }', { variables: { t: token } });
}

export interface DevMail {
  subject: string;
  text: string;
  kind: string;
  token: string | null;
}

const admins = new Map<string, Promise<TestClient>>();

/** The development mailbox of `email`, newest first, read as the platform administrator (its only reader). */
export async function devMailbox(url: string, email: string): Promise<DevMail[]> {
  let admin = admins.get(url);
  if (!admin) admins.set(url, (admin = signIn(url, ADMIN.email, ADMIN.password)));
  const mail = await gql<{ devMailbox: DevMail[] }>(
    url,
    'query($to: String!) { devMailbox(to: $to) { subject text kind token } }',
    { variables: { to: email }, token: await admin },
  );
  if (!mail.data) throw new Error(`devMailbox failed: ${JSON.stringify(mail.errors)}`);
  return mail.data.devMailbox;
}

/**
 * Puts an organization on a plan (platform administrator's assignPlan): new organizations are on the free plan,
 * which opens chat-builder and translate-ai only.
 */
export async function assignPlan(url: string, organizationId: string, planId = 'professional'): Promise<void> {
  let admin = admins.get(url);
  if (!admin) admins.set(url, (admin = signIn(url, ADMIN.email, ADMIN.password)));
  const result = await gql(
    url,
    'mutation($o: ID!, $p: ID!) { assignPlan(organizationId: $o, planId: $p) { status } }',
    {
      variables: { o: organizationId, p: planId },
      token: await admin,
    },
  );
  if (result.errors) throw new Error(`assignPlan failed: ${JSON.stringify(result.errors)}`);
}

/** The token of the newest invitation mailed to `email` (read from the development mailbox). */
export async function invitationToken(url: string, email: string): Promise<string> {
  const newest = (await devMailbox(url, email)).find((m) => m.kind === 'invitation');
  if (!newest?.token) throw new Error(`no invitation mail for ${email}`);
  return newest.token;
}

/**
 * Waits until entitlement has consumed every usage event so far (its consumer polls): then the usage ledger
 * holds every invocation answered before the call. Gives up quietly after `maxMs`; the caller's assertions say
 * what is missing.
 */
export async function usageConsumed(platform: TestPlatform, maxMs = 10_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    const { rows } = await platform.db!.pool.query<{ pending: number }>(
      `SELECT count(*)::int AS pending FROM events.event_deliveries WHERE consumer = 'entitlement' AND status = 'pending'`,
    );
    if (rows[0]?.pending === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
