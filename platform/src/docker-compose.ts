// docker-compose.yml is generated from the service manifest (`npm run compose` writes it with the supergraph;
// `npm run compose:check` fails when it is stale): one container per service, each with its port, its database
// settings when it uses the database (owns a schema, or writes platform events), the URLs of the services it
// calls, the JWKS of the services it trusts, and its own key bundle. The shared pieces (infrastructure, jobs, anchors) are the fixed text below.
import path from 'node:path';

import { GATEWAY, type ServiceDeclaration, SUBGRAPHS, usesDatabase } from '@g3d/manifest';

import { KEY_BUNDLES } from './key-bundles.ts';

export const DOCKER_COMPOSE_FILE = path.resolve(import.meta.dirname, '../../docker-compose.yml');

const HEADER = `# GENERATED from the service manifest (packages/manifest) by \`npm run compose\`; edit the manifest or
# platform/src/docker-compose.ts, not this file (\`npm run compose:check\` fails when it is stale).
#
# The platform as separate containers: PostgreSQL, Redis, an OpenTelemetry collector, the one-shot jobs
# (keygen, migrate), one container per subgraph (${SUBGRAPHS.length}) and the gateway on http://localhost:${GATEWAY.defaultPort}/graphql.
#   docker compose up -d --build
#   docker compose logs migrate          the first admin's password, when ADMIN_PASSWORD was not set
# Every platform container runs the same image (Dockerfile); SERVICE picks what it runs (docker/entrypoint.sh).
# Local development only: the PostgreSQL password defaults to a well-known value (set POSTGRES_PASSWORD).
name: g3d

# ---- shared pieces (x- fields are ignored by compose; the anchors keep the platform services short)

x-app: &app
  image: \${G3D_IMAGE:-g3d-platform:dev}
  build:
    context: .
    dockerfile: Dockerfile
  init: true
  # Nothing in the image needs root or a capability; code is read-only, state lives in volumes and /tmp.
  read_only: true
  tmpfs:
    - /tmp
  cap_drop:
    - ALL
  security_opt:
    - no-new-privileges:true

x-env: &env
  LOG_LEVEL: \${LOG_LEVEL:-info}
  HOST: 0.0.0.0
  REDIS_URL: redis://redis:6379
  OTEL_EXPORTER_OTLP_ENDPOINT: http://otel-collector:4318

x-db-env: &db-env
  <<: *env
  # Dev-only default password (override with POSTGRES_PASSWORD; URL-encode it if it has special characters).
  DATABASE_URL: postgresql://postgres:\${POSTGRES_PASSWORD:-postgres}@postgres:5432/g3d

# /healthz of the service in this container; each service sets HEALTHCHECK_PORT to the port it listens on.
# A long start period: many Node processes compiling TypeScript at once take minutes on a 2-core machine, and a
# dependency still starting after it would fail \`docker compose up\` (healthy shows at the first passing check).
x-healthcheck: &healthcheck
  test:
    - CMD
    - node
    - -e
    - fetch('http://127.0.0.1:'+process.env.HEALTHCHECK_PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))
  interval: 5s
  timeout: 5s
  retries: 5
  start_period: 300s

x-subgraph-deps: &subgraph-deps
  redis:
    condition: service_healthy
  keygen:
    condition: service_completed_successfully
  migrate:
    condition: service_completed_successfully

x-subgraph: &subgraph
  <<: *app
  restart: unless-stopped
  depends_on: *subgraph-deps
  healthcheck: *healthcheck

x-db-subgraph: &db-subgraph
  <<: *subgraph
  depends_on:
    <<: *subgraph-deps
    postgres:
      condition: service_healthy

services:
  # ---- infrastructure

  postgres:
    image: postgres:16
    restart: unless-stopped
    environment:
      POSTGRES_USER: postgres
      # Dev-only default password; override with POSTGRES_PASSWORD in the environment or an .env file.
      POSTGRES_PASSWORD: \${POSTGRES_PASSWORD:-postgres}
      POSTGRES_DB: g3d
    volumes:
      - postgres-data:/var/lib/postgresql/data
    healthcheck:
      # Over TCP: during first-start initialisation the server listens on its socket only.
      test: ['CMD', 'pg_isready', '-h', '127.0.0.1', '-U', 'postgres', '-d', 'g3d']
      interval: 5s
      timeout: 5s
      retries: 10
      start_period: 30s

  redis:
    image: redis:7
    restart: unless-stopped
    volumes:
      - redis-data:/data
    healthcheck:
      test: ['CMD-SHELL', 'redis-cli ping | grep -q PONG']
      interval: 5s
      timeout: 5s
      retries: 10

  otel-collector:
    image: otel/opentelemetry-collector-contrib:0.153.0
    restart: unless-stopped
    command: ['--config=/etc/otelcol-contrib/config.yaml']
    volumes:
      - ./docker/otel-collector.yaml:/etc/otelcol-contrib/config.yaml:ro
    ports:
      # Prometheus exporter (metrics received over OTLP), for a scraper on this machine only.
      - '127.0.0.1:8889:8889'

  # The AI services' stand-in model server (packages/reference-upstream): real, deterministic work on small
  # inputs. Production points AI_UPSTREAM_BASE_URL (or AI_<SERVICE>_UPSTREAM_URL) at real model servers.
  reference-upstream:
    <<: *app
    restart: unless-stopped
    environment:
      SERVICE: reference-upstream
      HOST: 0.0.0.0
      REFERENCE_UPSTREAM_PORT: 4200
      HEALTHCHECK_PORT: 4200
    healthcheck: *healthcheck

  # ---- one-shot jobs

  keygen:
    <<: *app
    restart: 'no'
    environment:
      SERVICE: keygen
      LOG_LEVEL: \${LOG_LEVEL:-info}
    volumes:
      # The only writer of the keys: Ed25519 key pairs of identity and the gateway and the TOTP encryption key
      # (kept if already there), then one bundle per kind of service with only what it needs
      # (platform/src/key-bundles.ts). Nothing else mounts the full set.
      - keys:/data/keys
${Object.keys(KEY_BUNDLES)
  .map((bundle) => `      - keys-${bundle}:/data/bundles/${bundle}`)
  .join('\n')}

  migrate:
    <<: *app
    restart: 'no'
    environment:
      <<: *db-env
      SERVICE: migrate
      # The first administrator, from the host's environment; with no password, one is generated and printed
      # once in \`docker compose logs migrate\`.
      ADMIN_EMAIL: \${ADMIN_EMAIL:-}
      ADMIN_PASSWORD: \${ADMIN_PASSWORD:-}
    depends_on:
      postgres:
        condition: service_healthy
      redis:
        condition: service_healthy
`;

const url = (service: string, suffix = '/graphql') =>
  `http://${service}:${SUBGRAPHS.find((s) => s.name === service)?.defaultPort ?? 0}${suffix}`;

/** One subgraph's container. */
function subgraphBlock(service: ServiceDeclaration): string {
  const env: string[] = [`SERVICE: ${service.name}`, `HEALTHCHECK_PORT: ${service.defaultPort}`];
  if (service.calls.length) {
    env.push(`# Calls ${service.calls.join(', ')} directly (manifest: calls).`);
    env.push(`SUBGRAPH_URLS: ${service.calls.map((peer) => `${peer}=${url(peer)}`).join(',')}`);
  }
  for (const peer of service.trusts) {
    env.push(`# Verifies ${peer}'s service tokens with its published keys (manifest: trusts).`);
    env.push(`${peer.toUpperCase().replace(/-/g, '_')}_JWKS_URL: ${url(peer, '/.well-known/jwks.json')}`);
  }
  if (!service.database && service.eventLog) env.push('# Writes platform events (usage records); owns no schema.');
  if (service.ai) {
    env.push('# Its upstream: the reference upstream unless AI_UPSTREAM_BASE_URL names real model servers.');
    env.push('AI_UPSTREAM_BASE_URL: ${AI_UPSTREAM_BASE_URL:-http://reference-upstream:4200}');
  }
  return `
  ${service.name}:
    <<: *${usesDatabase(service) ? 'db-subgraph' : 'subgraph'}
    environment:
      <<: *${usesDatabase(service) ? 'db-env' : 'env'}
${env.map((line) => `      ${line}`).join('\n')}
    volumes:
      - keys-${service.keyBundle}:/data/keys:ro
`;
}

function gatewayBlock(): string {
  const urls = SUBGRAPHS.map((s) => `${s.name}=${url(s.name)}`);
  return `
  # ---- gateway

  gateway:
    <<: *app
    restart: unless-stopped
    environment:
      <<: *env
      SERVICE: gateway
      HEALTHCHECK_PORT: ${GATEWAY.defaultPort}
      IDENTITY_JWKS_URL: ${url('identity', '/.well-known/jwks.json')}
      # Where each subgraph of schema/supergraph.graphql runs here (the file has 127.0.0.1 URLs). The escaped line
      # ends join the lines without spaces: this is one comma-separated value.
      SUBGRAPH_URLS: "${urls.join(',\\\n        ')}"
    ports:
      - '${GATEWAY.defaultPort}:${GATEWAY.defaultPort}'
    volumes:
      - keys-${GATEWAY.keyBundle}:/data/keys:ro
    healthcheck: *healthcheck
    depends_on:
      redis: { condition: service_healthy }
      keygen: { condition: service_completed_successfully }
${SUBGRAPHS.map((s) => `      ${s.name}: { condition: service_healthy }`).join('\n')}
`;
}

/** The whole docker-compose.yml. */
export function dockerComposeYaml(): string {
  return `${HEADER}
  # ---- subgraphs (packages/manifest)
${SUBGRAPHS.map(subgraphBlock).join('')}${gatewayBlock()}
volumes:
  postgres-data:
  redis-data:
  keys:
${Object.keys(KEY_BUNDLES)
  .map((bundle) => `  keys-${bundle}:`)
  .join('\n')}
`;
}
