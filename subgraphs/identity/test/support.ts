// Shared by identity's module tests: the harness (identity with organization, which identity asks for the
// caller's memberships whenever it issues tokens, and entitlement, which owns the seats organization's
// invitations count against), hostile inputs, and the assertions every hostile-input test
// makes: a stable error code (and field), never an HTTP 500, never INTERNAL_SERVER_ERROR, never a hang.
import { seedPlans, service as entitlement } from '@g3d/entitlement';
import { service as organization } from '@g3d/organization';
import { type GraphQLResult, type Harness, startSubgraphs, type SubgraphClient } from '@g3d/testkit';
import { expect } from 'vitest';

import { service as identity } from '../src/index.ts';

/** identity, organization and entitlement on a fresh database, with `env` besides the test defaults. */
export async function startIdentity(env: Record<string, string> = {}): Promise<Harness> {
  const harness = await startSubgraphs({ identity, organization, entitlement }, { env });
  await seedPlans(harness.db);
  return harness;
}

export const KB10 = 'x'.repeat(10 * 1024);
export const GOOD_PASSWORD = 'a perfectly fine passphrase';
export const OTHER_GOOD_PASSWORD = 'another quite decent passphrase';

let unique = 0;
/** A fresh address per use: per-address limits (3 mails an hour, login failures) never interfere between tests. */
export const fresh = (tag: string) => `${tag}-${++unique}-${Date.now().toString(36)}@hostile.example`;

/** Any call that takes longer than this is a hang. */
const DEADLINE_MS = 15_000;

/** Sends `query` as `client`, failing the test when no answer comes within the deadline. */
export async function call<T = Record<string, unknown>>(
  client: SubgraphClient,
  query: string,
  variables?: Record<string, unknown>,
): Promise<GraphQLResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${DEADLINE_MS} ms (hang): ${query}`)), DEADLINE_MS);
  });
  try {
    return await Promise.race([client.gql<T>(query, variables), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The response is exactly one well-formed, expected error with this code (and field), and no data for the field. */
export function expectError(result: GraphQLResult, code: string, field?: string) {
  const context = JSON.stringify(result).slice(0, 500);
  expect(result.status, context).toBeLessThan(500);
  expect(result.errors, context).toHaveLength(1);
  const error = result.errors?.[0];
  expect(error?.extensions?.code, context).toBe(code);
  expect(error?.extensions?.code, context).not.toBe('INTERNAL_SERVER_ERROR');
  expect(typeof error?.message, context).toBe('string');
  expect(error?.message, context).not.toBe('Internal server error');
  if (field !== undefined) expect(error?.extensions?.field, context).toBe(field);
  // Either no data at all (request errors) or null data (a non-null root field failed).
  expect(result.data ?? null, context).toBeNull();
}

/** A GraphQL coercion error on a variable: HTTP 400, BAD_USER_INPUT, nothing executed. */
export function expectCoercionError(result: GraphQLResult) {
  const context = JSON.stringify(result).slice(0, 500);
  expect(result.status, context).toBe(400);
  expect(result.errors?.[0]?.extensions?.code, context).toBe('BAD_USER_INPUT');
  expect(result.data, context).toBeUndefined();
}

/** An unknown argument or a literal missing fields: refused at validation, HTTP 400. */
export function expectValidationError(result: GraphQLResult) {
  expect(result.status).toBe(400);
  expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
}

export const INVALID_EMAILS: [string, string][] = [
  ['empty', ''],
  ['no at', 'a'],
  ['no dot in domain', 'a@b'],
  ['double at', 'a@@b.c'],
  ['inner space', ' spaced @x.io'],
  ['10 KB', `${KB10}@x.io`],
  ['10 KB domain', `a@${KB10}.io`],
  ['NUL byte', 'a\u0000b@x.io'],
  ['line feed (header injection)', 'a@x.io\nBcc: victim@x.io'],
  ['carriage return', 'a\r@x.io'],
  ['bell', 'a\u0007@x.io'],
  ['DEL', 'a\u007f@x.io'],
  ['list of addresses', 'a@x.io, b@y.io'],
];

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
