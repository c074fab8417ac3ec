// Bad configuration fails at start with a message naming the setting, exit code 1 and no stack trace;
// a second start on the same data directory keeps the data.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { createLogger } from '@g3d/kit';
import { loadPlatformConfig, RANDOM_PORTS_ENV, startPlatform } from '@g3d/platform';
import { childEnv } from '@g3d/testkit';
import { describe, expect, it } from 'vitest';

import { gql, login } from './helpers.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'g3d-start-'));

function runMain(
  env: Record<string, string>,
  args: string[] = [],
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'platform/src/main.ts', ...args], {
      cwd: repoRoot,
      env: childEnv({ DATA_DIR: tempDir(), LOG_LEVEL: 'silent', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

const hasStack = (text: string) => /^\s+at .+:\d+:\d+\)?$/m.test(text);

describe('the command line', () => {
  it('--help prints the services, their ports and where the settings are documented', async () => {
    const result = await runMain({}, ['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/--service <name>/);
    expect(result.stdout).toMatch(/^ {2}ai-vision-pro +4101 +AI_VISION_PRO_PORT$/m);
    expect(result.stdout).toContain('README.md, section Configuration');
  });

  it('an unknown option is one line pointing at --help, not a stack trace', async () => {
    const result = await runMain({}, ['--nope']);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe("Startup failed: arguments: Unknown option '--nope' (see npm start -- --help)");
  });
});

describe('bad configuration', () => {
  it('lists every invalid setting by name, with the rule it breaks, and exits 1', async () => {
    const result = await runMain({
      GATEWAY_PORT: 'abc',
      DB_POOL_MAX: '0',
      DATABASE_URL: 'mysql://x',
      ACCESS_TOKEN_TTL_SECONDS: '5',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ACCESS_TOKEN_TTL_SECONDS: must be between 60 and 3600 seconds');
    expect(result.stderr).toContain('GATEWAY_PORT: must be a port number');
    expect(result.stderr).toContain('DB_POOL_MAX');
    expect(result.stderr).toContain('DATABASE_URL: must be a URL starting with postgres:// or postgresql://');
    expect(hasStack(result.stderr)).toBe(false);
  });

  it('names DATABASE_URL when the database is unreachable', async () => {
    const result = await runMain({ DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/nowhere' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Startup failed: DATABASE_URL: cannot connect to the database/m);
    expect(hasStack(result.stderr)).toBe(false);
  });

  it('names REDIS_URL when Redis is unreachable', async () => {
    const result = await runMain({ REDIS_URL: 'redis://127.0.0.1:1' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Startup failed: REDIS_URL: cannot connect to Redis/m);
    expect(hasStack(result.stderr)).toBe(false);
  });

  it('names the port setting when the port is taken', async () => {
    const net = await import('node:net');
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await runMain({
        ...RANDOM_PORTS_ENV,
        GATEWAY_PORT: String(port),
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`Startup failed: GATEWAY_PORT: port ${port} is already in use`);
      expect(hasStack(result.stderr)).toBe(false);
    } finally {
      blocker.close();
    }
  });
});

describe('one service alone', () => {
  it('refuses to start a subgraph without the gateway public key (it never invents keys)', async () => {
    // telemetry keeps no database: the key is the first thing it needs.
    const result = await runMain({}, ['--service', 'telemetry']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Startup failed: GATEWAY_PUBLIC_KEY: not set, and no .*gateway\.public\.jwk\.json/m);
  });

  it('refuses to start a gateway without its signing key', async () => {
    const result = await runMain({}, ['--service', 'gateway']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^Startup failed: GATEWAY_SIGNING_KEY: not set, and no .*gateway\.private\.jwk\.json/m,
    );
  });

  it('refuses to start identity or organization alone without the peer each calls', async () => {
    const identity = await runMain({}, ['--service', 'identity']);
    expect(identity.code).toBe(1);
    expect(identity.stderr).toMatch(/^Startup failed: SUBGRAPH_URLS: identity needs organization=<url>/m);
    const organization = await runMain({}, ['--service', 'organization']);
    expect(organization.code).toBe(1);
    expect(organization.stderr).toMatch(/^Startup failed: IDENTITY_JWKS_URL: organization needs identity's JWKS URL/m);
  });

  it('rejects an unknown service name', async () => {
    const result = await runMain({}, ['--service', 'nope']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('unknown service "nope"');
  });
});

describe('embedded defaults', () => {
  it('keeps the data across a stop and a start on the same data directory', async () => {
    const dataDir = tempDir();
    const env = {
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      ...RANDOM_PORTS_ENV,
      ADMIN_EMAIL: 'first@a.example',
      ADMIN_PASSWORD: 'a long enough password',
    };
    const logger = createLogger({ level: 'silent' });
    const first = await startPlatform(await loadPlatformConfig(env), { logger, service: 'all' });
    let firstId: unknown;
    try {
      expect(first.seededAdmin?.email).toBe('first@a.example');
      const token = await login(first.gatewayUrl as string, 'first@a.example', 'a long enough password');
      firstId = (await gql<{ me: { id: string } }>(first.gatewayUrl as string, '{ me { id } }', { token })).data?.me.id;
      expect(firstId).toBeTruthy();
    } finally {
      await first.stop();
    }
    // A different password in the environment must not reseed or change the existing admin.
    const second = await startPlatform(await loadPlatformConfig({ ...env, ADMIN_PASSWORD: 'another long password' }), {
      logger,
      service: 'all',
    });
    try {
      expect(second.seededAdmin).toBeNull();
      const token = await login(second.gatewayUrl as string, 'first@a.example', 'a long enough password');
      const again = await gql<{ me: { id: string; organizations: { slug: string }[] } }>(
        second.gatewayUrl as string,
        '{ me { id organizations { slug } } }',
        { token },
      );
      expect(again.data?.me).toEqual({ id: firstId, organizations: [{ slug: 'default' }] });
    } finally {
      await second.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses to open a data directory another live process is using', async () => {
    const dataDir = tempDir();
    fs.writeFileSync(path.join(dataDir, 'platform.lock'), String(process.pid));
    const result = await runMain({ DATA_DIR: dataDir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Startup failed: DATA_DIR: ${dataDir} is in use by process ${process.pid}`);
  });
});

describe('key bundles', () => {
  it('keygen writes one bundle per kind of service with only its keys, and a lone subgraph starts on its bundle', async () => {
    const dataDir = tempDir();
    const keygen = await runMain({ DATA_DIR: dataDir }, ['--service', 'keygen']);
    expect(keygen.code).toBe(0);
    const bundle = (name: string) => fs.readdirSync(path.join(dataDir, 'bundles', name)).sort();
    expect(bundle('subgraph')).toEqual(['gateway.public.jwk.json']);
    expect(bundle('gateway')).toEqual(['gateway.private.jwk.json', 'gateway.public.jwk.json']);
    expect(bundle('identity')).toEqual([
      'gateway.public.jwk.json',
      'identity.private.jwk.json',
      'identity.public.jwk.json',
      'mfa-encryption.key',
    ]);
    // Private keys keep their mode; a public bundle holds no private half.
    expect(fs.statSync(path.join(dataDir, 'bundles/identity/identity.private.jwk.json')).mode & 0o777).toBe(0o600);
    const publicKey = JSON.parse(
      fs.readFileSync(path.join(dataDir, 'bundles/subgraph/gateway.public.jwk.json'), 'utf8'),
    );
    expect(publicKey.d).toBeUndefined();
    // Rotation refreshes the identity bundle: the retired key's public half is there, the old private key gone.
    const before = fs.readFileSync(path.join(dataDir, 'bundles/identity/identity.private.jwk.json'), 'utf8');
    expect((await runMain({ DATA_DIR: dataDir }, ['--service', 'keygen', '--rotate', 'identity'])).code).toBe(0);
    expect(bundle('identity').some((f) => /^identity\.retired-.+\.public\.json$/.test(f))).toBe(true);
    expect(fs.readFileSync(path.join(dataDir, 'bundles/identity/identity.private.jwk.json'), 'utf8')).not.toBe(before);

    // A subgraph whose keys directory is just the subgraph bundle (as in docker-compose.yml) starts and serves.
    const lone = tempDir();
    fs.cpSync(path.join(dataDir, 'bundles/subgraph'), path.join(lone, 'keys'), { recursive: true });
    const platform = await startPlatform(
      await loadPlatformConfig({ NODE_ENV: 'test', DATA_DIR: lone, ...RANDOM_PORTS_ENV, TELEMETRY_PORT: '0' }),
      { logger: createLogger({ level: 'silent' }), service: 'telemetry' },
    );
    try {
      const url = platform.subgraphUrls.telemetry as string;
      expect((await fetch(new URL('/healthz', url))).status).toBe(200);
      // And it still refuses anything not signed by the gateway.
      expect((await fetch(url, { method: 'POST', body: '{}' })).status).toBe(401);
    } finally {
      await platform.stop();
      fs.rmSync(lone, { recursive: true, force: true });
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
