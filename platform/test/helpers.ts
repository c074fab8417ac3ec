// Boots the whole platform (gateway + every subgraph) on random ports against a fresh test database and an
// isolated store, and gives tests a small GraphQL client.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { createLogger } from '@g3d/kit';
import { loadPlatformConfig, RANDOM_PORTS_ENV, type RunningPlatform, startPlatform } from '@g3d/platform';
import { createEmptyDatabase, databaseEnv, testConfig, type TestDatabase, testStorePrefix } from '@g3d/testkit';

export const ADMIN = { email: 'alice@a.example', password: 'correct horse battery staple' };

export interface TestPlatform extends RunningPlatform {
  gatewayUrl: string;
  dataDir: string;
  database: TestDatabase;
  close(): Promise<void>;
}

export async function startTestPlatform(env: Record<string, string> = {}): Promise<TestPlatform> {
  const database = await createEmptyDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'g3d-platform-'));
  const config = loadPlatformConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    ...databaseEnv(database),
    ...(testConfig.REDIS_URL ? { REDIS_URL: testConfig.REDIS_URL } : {}),
    STORE_PREFIX: testStorePrefix(),
    ...RANDOM_PORTS_ENV,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    ...env,
  });
  const platform = await startPlatform(config, { logger: createLogger({ level: 'silent' }), service: 'all' });
  return {
    ...platform,
    gatewayUrl: platform.gatewayUrl as string,
    dataDir,
    database,
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

export async function gql<T = Record<string, unknown>>(
  url: string,
  query: string,
  options: { variables?: Record<string, unknown>; token?: string; headers?: Record<string, string> } = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify({ query, variables: options.variables }),
  });
  const body = (await response.json()) as Omit<GraphQLResponse<T>, 'status'>;
  return { status: response.status, ...body };
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
export async function registerUser(url: string, email: string, password = 'a long enough passphrase'): Promise<string> {
  const [firstName = 'Test', lastName = 'User'] = email.split('@')[0]?.split('.') ?? [];
  const registered = await gql(url, 'mutation($i: RegisterInput!) { register(input: $i) { message } }', {
    variables: {
      i: { email, password, firstName, lastName, acceptTerms: true, acceptPrivacyPolicy: true, gdprConsent: true },
    },
  });
  if (registered.errors) throw new Error(`register failed: ${JSON.stringify(registered.errors)}`);
  const mail = await gql<{ devMailbox: { text: string }[] }>(
    url,
    'query($to: String!) { devMailbox(to: $to) { text } }',
    {
      variables: { to: email },
    },
  );
  const token = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail.data?.devMailbox[0]?.text ?? '')?.[1];
  await gql(url, 'mutation($t: String!) { verifyEmail(token: $t) }', { variables: { t: token } });
  return login(url, email, password);
}
