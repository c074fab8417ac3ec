// docker-compose.yml is generated from the service manifest; these checks read the file as compose would and
// hold it to the manifest: one container per service, each running the service it is named after, on the port
// the gateway is told to use, with the peers, databases and keys its manifest entry declares.
import fs from 'node:fs';
import path from 'node:path';

import { SUBGRAPHS, usesDatabase } from '@g3d/manifest';
import { dockerComposeYaml, KEY_BUNDLES, keyBundleOf } from '@g3d/platform';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface ComposeService {
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  volumes?: (string | { source?: string; target?: string; read_only?: boolean })[];
  healthcheck?: { test?: string | string[] };
}

const composePath = path.resolve(import.meta.dirname, '../../docker-compose.yml');
// merge: compose resolves YAML merge keys (<<: *anchor), which the file uses to keep the services short.
const compose = parse(fs.readFileSync(composePath, 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const services = compose.services;

function environment(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => [entry.split('=')[0], entry.slice(entry.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value === null ? '' : String(value)]));
}

/** What the container runs: --service in its command wins, else SERVICE (docker/entrypoint.sh), else all. */
function selectedService(service: ComposeService): string {
  const args = typeof service.command === 'string' ? service.command.split(/\s+/) : (service.command ?? []);
  for (const [i, arg] of args.entries()) {
    if (arg === '--service') return args[i + 1] ?? '';
    if (arg.startsWith('--service=')) return arg.slice('--service='.length);
  }
  return environment(service).SERVICE || 'all';
}

function dependencies(service: ComposeService): Record<string, string> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((name) => [name, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([name, dep]) => [name, dep.condition ?? 'service_started']));
}

const gateway = services.gateway;
const subgraphUrls = Object.fromEntries(
  (environment(gateway ?? {}).SUBGRAPH_URLS ?? '').split(',').map((pair) => {
    const at = pair.indexOf('=');
    return [pair.slice(0, at), pair.slice(at + 1)];
  }),
);

describe('docker-compose.yml', () => {
  it('is what the manifest generates (else run npm run compose)', () => {
    expect(fs.readFileSync(composePath, 'utf8')).toBe(dockerComposeYaml());
  });

  it.each(SUBGRAPHS.map((s) => [s.name, s.defaultPort] as const))(
    '%s: has a container running that service, health-checked on port %i',
    (name, port) => {
      const service = services[name];
      expect(service, `no service "${name}" in docker-compose.yml`).toBeDefined();
      expect(selectedService(service!)).toBe(name);
      expect(environment(service!).HEALTHCHECK_PORT).toBe(String(port));
      expect(service!.healthcheck?.test).toBeDefined();
    },
  );

  it('runs no platform container for a subgraph the catalog does not have', () => {
    // The reference upstream stands in for the AI model servers: its own program, not a platform service.
    const jobs = new Set(['gateway', 'keygen', 'migrate', 'all', 'reference-upstream']);
    const platformServices = Object.entries(services)
      .filter(([, service]) => service.healthcheck && environment(service).SERVICE)
      .map(([, service]) => selectedService(service))
      .filter((name) => !jobs.has(name));
    expect(platformServices.sort()).toEqual(SUBGRAPHS.map((s) => s.name).sort());
  });

  it('runs the reference upstream and points every AI wrapper at it unless AI_UPSTREAM_BASE_URL says otherwise', () => {
    expect(environment(services['reference-upstream']!).SERVICE).toBe('reference-upstream');
    for (const subgraph of SUBGRAPHS.filter((s) => s.ai)) {
      expect(environment(services[subgraph.name]!).AI_UPSTREAM_BASE_URL, subgraph.name).toBe(
        '${AI_UPSTREAM_BASE_URL:-http://reference-upstream:4200}',
      );
    }
  });

  it('tells the gateway where every subgraph is: its compose service name and default port', () => {
    expect(gateway).toBeDefined();
    expect(selectedService(gateway!)).toBe('gateway');
    expect(Object.keys(subgraphUrls).sort()).toEqual(SUBGRAPHS.map((s) => s.name).sort());
    for (const subgraph of SUBGRAPHS) {
      expect(subgraphUrls[subgraph.name], subgraph.name).toBe(
        `http://${subgraph.name}:${subgraph.defaultPort}/graphql`,
      );
    }
    // The value must pass the config's check (one line, no spaces).
    expect(environment(gateway!).SUBGRAPH_URLS).toMatch(
      /^([a-z0-9-]+=https?:\/\/[^,\s]+)(,[a-z0-9-]+=https?:\/\/[^,\s]+)*$/,
    );
    expect(environment(gateway!).IDENTITY_JWKS_URL).toBe('http://identity:4001/.well-known/jwks.json');
  });

  it('starts the gateway after every subgraph is healthy', () => {
    const deps = dependencies(gateway!);
    for (const subgraph of SUBGRAPHS) expect(deps[subgraph.name], subgraph.name).toBe('service_healthy');
  });

  it('runs keygen and migrate once, before the services that need them', () => {
    expect(selectedService(services.keygen!)).toBe('keygen');
    expect(selectedService(services.migrate!)).toBe('migrate');
    for (const subgraph of SUBGRAPHS) {
      const deps = dependencies(services[subgraph.name]!);
      expect(deps.keygen, subgraph.name).toBe('service_completed_successfully');
      expect(deps.migrate, subgraph.name).toBe('service_completed_successfully');
      expect(deps.redis, subgraph.name).toBe('service_healthy');
      if (usesDatabase(subgraph)) expect(deps.postgres, subgraph.name).toBe('service_healthy');
    }
    expect(dependencies(gateway!).keygen).toBe('service_completed_successfully');
  });

  it('gives database settings only to the services that use the database', () => {
    for (const subgraph of SUBGRAPHS) {
      expect(Boolean(environment(services[subgraph.name]!).DATABASE_URL), subgraph.name).toBe(usesDatabase(subgraph));
    }
    expect(environment(services.migrate!).DATABASE_URL).toBeTruthy();
    expect(environment(gateway!).DATABASE_URL).toBeUndefined();
  });

  it("gives each service only its key bundle, read-only; the full key set is keygen's alone", () => {
    const keyMounts = (service: (typeof services)[string]) =>
      (service.volumes ?? []).flatMap((volume) => {
        const [source, target, mode] = typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target];
        const readOnly = mode === 'ro' || (typeof volume === 'object' && volume.read_only === true);
        return source?.startsWith('keys') ? [{ source, target, readOnly }] : [];
      });
    expect(keyMounts(services.keygen!)).toEqual([
      { source: 'keys', target: '/data/keys', readOnly: false },
      ...Object.keys(KEY_BUNDLES).map((bundle) => ({
        source: `keys-${bundle}`,
        target: `/data/bundles/${bundle}`,
        readOnly: false,
      })),
    ]);
    for (const name of ['gateway', ...SUBGRAPHS.map((s) => s.name)]) {
      expect(keyMounts(services[name]!), name).toEqual([
        { source: `keys-${keyBundleOf(name)}`, target: '/data/keys', readOnly: true },
      ]);
    }
    expect(keyMounts(services.migrate!)).toEqual([]);
  });

  it('tells each service where the services it calls are, and where the ones it trusts publish their keys', () => {
    for (const subgraph of SUBGRAPHS) {
      const env = environment(services[subgraph.name]!);
      const expected = subgraph.calls.map((peer) => `${peer}=${subgraphUrls[peer]}`).join(',');
      expect(env.SUBGRAPH_URLS ?? '', subgraph.name).toBe(expected);
      for (const peer of subgraph.trusts) {
        const origin = new URL(subgraphUrls[peer] ?? '').origin;
        expect(env[`${peer.toUpperCase()}_JWKS_URL`], subgraph.name).toBe(`${origin}/.well-known/jwks.json`);
      }
    }
    expect(environment(services.identity!).SUBGRAPH_URLS).toBe('organization=http://organization:4002/graphql');
    expect(environment(services.organization!).IDENTITY_JWKS_URL).toBe('http://identity:4001/.well-known/jwks.json');
  });
});
