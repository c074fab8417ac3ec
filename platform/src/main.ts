// `npm start`: the whole platform in one process on embedded defaults, or one service with --service.
//   npm start                                   gateway + every subgraph (PGlite + in-memory store by default)
//   npm start -- --service identity             one subgraph (needs DATABASE_URL and the gateway's public key)
//   npm start -- --service gateway --supergraph path/to/supergraph.graphql --auth off
//   npm start -- --service migrate              apply migrations and seed, then exit
//   npm start -- --service keygen               write the keys into DATA_DIR/keys (and per-service bundles), exit
import { parseArgs } from 'node:util';

import { rotateSigningKey } from '@g3d/auth';
import { runMain, StartupError } from '@g3d/config';
import { loadIdentityKeys } from '@g3d/identity';
import { createLogger } from '@g3d/kit';
import { portSetting, SERVICES } from '@g3d/manifest';

import { loadPlatformConfig } from './config.ts';
import { writeKeyBundles } from './key-bundles.ts';
import { gatewaySigningKey, startPlatform } from './platform.ts';

const HELP = `G3D AI Services Platform

usage: npm start [-- options]

  (no options)               the whole platform in one process: gateway + every subgraph, embedded PostgreSQL
                             (PGlite in DATA_DIR) and the in-process store unless DATABASE_URL / REDIS_URL are set
  --service <name>           one service alone (a container): ${SERVICES.map((s) => s.name)
    .filter((n) => !n.startsWith('ai-'))
    .join(', ')}, ai-<slug>
                             (${SERVICES.filter((s) => s.kind === 'ai').length} AI wrappers), or a job: migrate (migrations + first-run seed), keygen (keys into DATA_DIR/keys)
  --service keygen --rotate identity
                             retire identity's signing key and create a new one
  --service gateway --supergraph <file> --auth off
                             a plain gateway for any supergraph (no platform authentication)
  --help                     this text

services and default ports (each overridden by its setting):
${SERVICES.map((s) => `  ${s.name.padEnd(20)} ${String(s.defaultPort).padEnd(6)} ${portSetting(s.name)}`).join('\n')}

Every setting is an environment variable, read once at start and validated (all problems listed, then exit 1).
They are documented in README.md, section Configuration; the services in README.md, section Services.
`;

/** parseArgs, with a mistake answered in one line that points at --help (not a stack trace). */
function parseArguments<const T extends NonNullable<Parameters<typeof parseArgs>[0]>>(config: T) {
  try {
    return parseArgs<T>(config);
  } catch (error) {
    throw new StartupError('arguments', `${(error as Error).message} (see npm start -- --help)`);
  }
}

await runMain(async () => {
  const { values } = parseArguments({
    options: {
      service: { type: 'string', default: 'all' },
      supergraph: { type: 'string' },
      auth: { type: 'string', default: 'on' },
      rotate: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (values.auth !== 'on' && values.auth !== 'off') throw new StartupError('--auth', 'must be on or off');
  const config = await loadPlatformConfig();
  if (values.supergraph) config.SUPERGRAPH_PATH = values.supergraph;
  const logger = createLogger({ level: config.LOG_LEVEL });

  if (values.service === 'keygen' && values.rotate) {
    if (values.rotate !== 'identity')
      throw new StartupError('--rotate', 'only the identity key can be rotated (identity)');
    // Published until every access token signed with it has expired (plus a margin for clock skew).
    const rotated = await rotateSigningKey(config.DATA_DIR, 'identity', {
      keepPublishedSeconds: config.ACCESS_TOKEN_TTL_SECONDS + 300,
    });
    writeKeyBundles(config.DATA_DIR);
    process.stdout.write(
      `Rotated the identity key: ${rotated.retiredKid ?? '(none)'} → ${rotated.newKid}. Restart identity to use it.\n`,
    );
    return;
  }
  if (values.service === 'keygen') {
    await loadIdentityKeys(config, { create: true });
    await gatewaySigningKey(config, true);
    writeKeyBundles(config.DATA_DIR);
    process.stdout.write(
      `Keys are in ${config.DATA_DIR}/keys; per-service bundles (gateway, identity, subgraph) in ${config.DATA_DIR}/bundles\n`,
    );
    return;
  }

  const platform = await startPlatform(config, { logger, service: values.service, authOff: values.auth === 'off' });
  if (platform.seededAdmin) {
    const { email, password, generated } = platform.seededAdmin;
    process.stdout.write(
      `\nFirst administrator created: ${email}` +
        (generated
          ? `\n  password: ${password}\n  (shown once; set ADMIN_PASSWORD to choose it)\n`
          : ' (password from ADMIN_PASSWORD)\n'),
    );
  }
  if (values.service === 'migrate') return;
  if (platform.gatewayUrl) process.stdout.write(`\nG3D platform ready: ${platform.gatewayUrl}\n\n`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    // 1. Fail readiness and close connections after their response, still serving: load balancers stop sending.
    // 2. After the drain delay, stop accepting and let in-flight requests finish (within the grace period).
    // Ctrl-C at a terminal stops at once; SIGTERM (an orchestrator) drains first.
    const drainMs = signal === 'SIGINT' ? 0 : config.SHUTDOWN_DRAIN_SECONDS * 1000;
    logger.info({ signal, drainMs, graceMs: config.SHUTDOWN_GRACE_SECONDS * 1000 }, 'shutting down: draining');
    platform.drain();
    // A last resort if something refuses to close: never hang on shutdown.
    setTimeout(
      () => {
        logger.error('shutdown took longer than the drain delay and grace period; exiting');
        process.exit(1);
      },
      drainMs + config.SHUTDOWN_GRACE_SECONDS * 1000 + 10_000,
    ).unref();
    setTimeout(() => {
      logger.info('drain delay over: no longer accepting; finishing in-flight requests');
      platform.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    }, drainMs);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
});
