// Rotating identity's signing key keeps tokens signed with the previous key valid until they expire: the
// retired key stays in the JWKS, new tokens carry the new kid, and the gateway accepts both.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { loadRetiredPublicKeys, rotateSigningKey } from '@g3d/auth';
import { createLogger } from '@g3d/kit';
import { loadPlatformConfig, RANDOM_PORTS_ENV, type RunningPlatform, startPlatform } from '@g3d/platform';
import { createEmptyDatabase, databaseEnv, type TestDatabase } from '@g3d/testkit';
import { decodeProtectedHeader } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';

import { ADMIN, gql, login } from './helpers.ts';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'g3d-rotation-'));
let database: TestDatabase;
let running: RunningPlatform | undefined;

async function start(): Promise<RunningPlatform> {
  database ??= await createEmptyDatabase();
  const config = await loadPlatformConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    ...databaseEnv(database),
    ...RANDOM_PORTS_ENV,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
  });
  running = await startPlatform(config, { logger: createLogger({ level: 'silent' }), service: 'all' });
  return running;
}

afterAll(async () => {
  await running?.stop();
  await database?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('identity key rotation', () => {
  it('old tokens keep working after a rotation; new tokens use the new key', async () => {
    const first = await start();
    const oldToken = await login(first.gatewayUrl as string);
    const oldKid = decodeProtectedHeader(oldToken).kid;
    await first.stop();

    const rotated = await rotateSigningKey(dataDir, 'identity', { keepPublishedSeconds: 900 });
    expect(rotated.retiredKid).toBe(oldKid);
    expect(rotated.newKid).not.toBe(oldKid);

    const second = await start();
    const url = second.gatewayUrl as string;
    const jwks = (await (await fetch(new URL('/.well-known/jwks.json', second.subgraphUrls.identity))).json()) as {
      keys: { kid: string; d?: string }[];
    };
    expect(jwks.keys.map((k) => k.kid)).toEqual([rotated.newKid, oldKid]);
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);

    const newToken = await login(url);
    expect(decodeProtectedHeader(newToken).kid).toBe(rotated.newKid);
    for (const token of [oldToken, newToken]) {
      expect((await gql<{ me: { email: string } }>(url, '{ me { email } }', { token })).data?.me.email).toBe(
        ADMIN.email,
      );
    }
  });

  it('stops publishing a retired key once its tokens can no longer be valid', async () => {
    await rotateSigningKey(dataDir, 'identity', { keepPublishedSeconds: 0 });
    // The key retired just now is already past its date; the one from the first test is still published.
    expect(loadRetiredPublicKeys(dataDir, 'identity')).toHaveLength(1);
  });
});
