// DataLoader everywhere: `organizations { members { user { email } } }` costs a bounded number of SQL
// statements per subgraph whatever the number of organizations (100 organizations × 3 members here).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { gql, registerUser, startTestPlatform, type TestPlatform } from './helpers.ts';

let platform: TestPlatform;
let token: string;
const ORGANIZATIONS = 100;

beforeAll(async () => {
  platform = await startTestPlatform();
  token = await registerUser(platform.gatewayUrl, 'many.orgs@a.example');
  const [other1, other2] = await Promise.all([
    registerUser(platform.gatewayUrl, 'other.one@a.example'),
    registerUser(platform.gatewayUrl, 'other.two@a.example'),
  ]);
  const ids = await Promise.all(
    [token, other1, other2].map(
      async (t) => (await gql<{ me: { id: string } }>(platform.gatewayUrl, '{ me { id } }', { token: t })).data?.me.id,
    ),
  );
  // Seed 100 organizations with 3 members each in two statements.
  const db = new pg.Client({ connectionString: platform.databaseUrl });
  await db.connect();
  await db.query(
    `INSERT INTO organization.organizations (id, name, slug, updated_at)
     SELECT gen_random_uuid(), 'Org ' || n, 'org-' || n, now() FROM generate_series(1, $1) AS n`,
    [ORGANIZATIONS],
  );
  await db.query(
    `INSERT INTO organization.memberships (id, organization_id, user_id, roles)
     SELECT gen_random_uuid(), o.id, u.id::uuid, '{member}' FROM organization.organizations o
     CROSS JOIN unnest($1::text[]) AS u(id) WHERE o.slug LIKE 'org-%'`,
    [ids],
  );
  await db.end();
});
afterAll(() => platform?.close());

// Public profile fields only: other members' emails are private to them (identity's rules).
const QUERY = '{ me { organizations { id name members { roles user { id displayName } } } } }';

describe('N+1', () => {
  it('resolves 100 organizations × 3 members with a bounded number of queries per subgraph', async () => {
    let result:
      | Awaited<ReturnType<typeof gql<{ me: { organizations: { members: { user: { displayName: string } }[] }[] } }>>>
      | undefined;
    const counts = await platform.db!.countQueriesBySchema(async () => {
      result = await gql(platform.gatewayUrl, QUERY, { token });
    });
    expect(result?.errors).toBeUndefined();
    const organizations = result?.data?.me.organizations ?? [];
    expect(organizations).toHaveLength(ORGANIZATIONS);
    expect(organizations.every((o) => o.members.length === 3 && o.members.every((m) => m.user.displayName))).toBe(true);
    console.log(`N+1 check: ${ORGANIZATIONS} organizations × 3 members → SQL statements per schema:`, counts);
    // organization: memberships of the user, the organizations, their memberships (each batched once), and
    // the shield membership check shares the first loader; identity: one batched user lookup.
    expect(counts.organization ?? 0).toBeLessThanOrEqual(4);
    expect(counts.identity ?? 0).toBeLessThanOrEqual(2);
  });
});
