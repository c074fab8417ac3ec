// createSubgraph: one call builds a subgraph service from its modules (SDL, resolvers and shield rules each).
// Every subgraph gets the same door (gateway signature), typed /internal routes, health endpoints, error
// masking, logging, replica-safe background jobs, its event consumer and an orderly shutdown.
import type http from 'node:http';

import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { expressMiddleware } from '@as-integrations/express5';
import {
  type Caller,
  type ClientInfo,
  GATEWAY_TOKEN_HEADER,
  SERVICE_TOKEN_HEADER,
  verifyGatewayToken,
  type VerifyKey,
  verifyServiceToken,
} from '@g3d/auth';
import { type Database, pingDatabase } from '@g3d/db';
import { AppError, errorBody, formatError, isExpectedError, originalError } from '@g3d/errors';
import { EventConsumer, type EventHandler } from '@g3d/events';
import { findService } from '@g3d/manifest';
import type { Store } from '@g3d/store';
import express from 'express';
import type { GraphQLFormattedError, GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { type IRules, shield } from 'graphql-shield';
import type { JWTVerifyGetKey } from 'jose';

import { unavailableDependency } from './dependencies.ts';
import { createHttpServer, Draining, httpErrorHandler, jsonBody, listen } from './http.ts';
import { IDEMPOTENCY_KEY } from './idempotency.ts';
import { type InternalRoute, serveInternalRoute } from './internal.ts';
import type { Logger } from './logger.ts';
import { mergeModules, type SubgraphModule } from './modules.ts';
import { denied } from './shield.ts';

/** The header the gateway forwards a client's Idempotency-Key in. */
export const IDEMPOTENCY_HEADER = 'x-g3d-idempotency-key';
/** Header carrying the request's deadline (epoch ms) to subgraphs, so they stop working for a gone client. */
export const DEADLINE_HEADER = 'x-g3d-deadline';

export interface SubgraphDeps {
  logger: Logger;
  store: Store;
  /** Absent for subgraphs that keep no tables (the AI wrappers). */
  db?: Database;
  /** The gateway's public key: requests must carry a gateway token signed with it. */
  gatewayKey: VerifyKey;
  /**
   * Services whose service tokens this subgraph's /internal routes accept, with their verification keys (e.g.
   * organization trusts identity, which asks it for a user's memberships).
   */
  trustedServices?: Record<string, JWTVerifyGetKey>;
  nodeEnv: 'development' | 'production' | 'test';
  /** How often the event consumer looks for new deliveries (default 500 ms). */
  eventPollIntervalMs?: number;
  /** How long in-flight requests may take to finish once the service stops (default 10 s). */
  shutdownGraceMs?: number;
}

export interface BaseContext {
  requestId: string;
  caller: Caller;
  /** The client's IP and user agent as the gateway saw them. */
  client: ClientInfo;
  logger: Logger;
  /** The client's Idempotency-Key for this request (mutations that create things honour it; see Idempotency). */
  idempotencyKey: string | null;
  /** When the gateway stops waiting for this request (epoch ms; DEADLINE_HEADER), or null: work past it is wasted. */
  deadline: number | null;
}

/** What a subgraph's schema is made of: its modules (also all composition and the rule-coverage test need). */
export interface SubgraphSchemaDefinition<TContext extends BaseContext> {
  /** The subgraph's name: also the audience of the gateway tokens it accepts. */
  name: string;
  modules: readonly SubgraphModule<TContext>[];
}

export interface SubgraphDefinition<TContext extends BaseContext> extends SubgraphSchemaDefinition<TContext> {
  /** The per-request context (services, fresh DataLoaders) from the base context. */
  createContext: (base: BaseContext) => TContext;
  /** Extra public HTTP routes outside /graphql (e.g. identity's JWKS). */
  routes?: (router: express.Router) => void;
  /** Service-to-service routes under /internal, each serving a contract of packages/contracts. */
  internalRoutes?: readonly InternalRoute[];
  /** Periodic background work, started with the service and stopped with it. */
  jobs?: readonly BackgroundJob[];
  /**
   * Checks /readyz reports besides the database and the store, without failing readiness (e.g. an AI wrapper's
   * upstream: the wrapper still answers, fast, and every replica shares the upstream, so none should leave
   * rotation for it).
   */
  informationalChecks?: () => Promise<Record<string, string>>;
  /** Largest request body /graphql accepts (default MAX_BODY_BYTES; the AI wrappers take binary inputs). */
  maxBodyBytes?: number;
  /** Long-running work (e.g. a store subscription), started before the service listens and stopped with it. */
  background?: readonly BackgroundTask[];
  /** Apollo Server plugins of this subgraph besides the kit's (e.g. response extensions). */
  plugins?: readonly ApolloServerPlugin<TContext>[];
  /**
   * Handlers of the platform events this subgraph consumes (packages/events); they must match the topics its
   * manifest entry declares in `consumes`.
   */
  consumers?: readonly EventHandler[];
}

export interface BackgroundJob {
  name: string;
  intervalMs: number;
  /**
   * One run. Jobs run on every replica: a run must claim the rows it works on (SKIP LOCKED, a lease) so that
   * two replicas never do the same work twice (e.g. Mailer.retryPending).
   */
  run: () => Promise<void>;
  /** Also run once as the service starts (before it listens), not only after the first interval. */
  runAtStart?: boolean;
}

export interface BackgroundTask {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface SubgraphService {
  name: string;
  schema: GraphQLSchema;
  start(options: { host: string; port: number }): Promise<{ url: string; port: number }>;
  /** Shutdown, first step: readiness fails and connections close after their response; still serving. */
  drain(): void;
  stop(): Promise<void>;
}

/** The subgraph schema with shield applied, deny by default (also used by the rule-coverage test). */
export function buildProtectedSchema<TContext extends BaseContext>(
  definition: SubgraphSchemaDefinition<TContext>,
): GraphQLSchema {
  const merged = mergeModules(definition.name, definition.modules);
  const schema = buildSubgraphSchema({ typeDefs: merged.typeDefs, resolvers: merged.resolvers as never });
  return applyMiddleware(
    schema,
    mfaEnrolmentGate(schema, new Set(merged.mfaEnrolmentFields)),
    shield(rulesPresentIn(schema, merged.rules), {
      fallbackRule: denied,
      // Our resolvers throw AppErrors on purpose: let them through instead of turning them into FORBIDDEN.
      allowExternalErrors: true,
    }),
  );
}

/** The kit's default rules for federation fields (`_entities`) apply only where the schema has them. */
function rulesPresentIn(schema: GraphQLSchema, rules: IRules): IRules {
  const query = schema.getQueryType()?.getFields() ?? {};
  const tree = { ...(rules as Record<string, unknown>) };
  const queryRules = tree.Query as Record<string, unknown> | undefined;
  if (queryRules && !query._entities) {
    const { _entities: _unused, ...rest } = queryRules;
    tree.Query = rest;
  }
  return tree as IRules;
}

type Resolve = (parent: unknown, args: unknown, ctx: BaseContext, info: GraphQLResolveInfo) => Promise<unknown>;

/**
 * The organization MFA policy (Caller.mfaSetupRequired): before any other rule, a root field outside the
 * enrolment path answers MFA_REQUIRED — every root field for an API key, which cannot enrol.
 * Applied to the root types only: nested fields are reached through them.
 */
function mfaEnrolmentGate(schema: GraphQLSchema, allowed: ReadonlySet<string>) {
  const gate = async (resolve: Resolve, parent: unknown, args: unknown, ctx: BaseContext, info: GraphQLResolveInfo) => {
    const caller = ctx.caller;
    if (
      caller?.mfaSetupRequired &&
      (caller.kind === 'apiKey' || !allowed.has(`${info.parentType.name}.${info.fieldName}`))
    ) {
      const message =
        caller.kind === 'apiKey'
          ? "This API key's organization requires two-factor authentication: its owner must enrol first"
          : 'Your organization requires two-factor authentication: enrol first';
      throw new AppError('MFA_REQUIRED', message, { reason: 'MFA_ENROLMENT_REQUIRED' });
    }
    return resolve(parent, args, ctx, info);
  };
  const roots = [schema.getQueryType(), schema.getMutationType()].filter((t) => t != null);
  return Object.fromEntries(roots.map((type) => [type.name, gate]));
}

export function createSubgraph<TContext extends BaseContext>(
  definition: SubgraphDefinition<TContext>,
  deps: SubgraphDeps,
): SubgraphService {
  const logger = deps.logger.child({ service: definition.name });
  const schema = buildProtectedSchema(definition);
  const consumer = eventConsumer(definition, deps, logger);
  let server: http.Server | undefined;
  let apollo: ApolloServer<TContext> | undefined;
  const timers: NodeJS.Timeout[] = [];
  const running = new Set<Promise<void>>();
  const draining = new Draining();

  return {
    name: definition.name,
    schema,
    async start({ host, port }) {
      const app = express();
      app.disable('x-powered-by');
      app.use(draining.middleware);
      server = createHttpServer(app);
      draining.watch(server);
      apollo = new ApolloServer<TContext>({
        schema,
        formatError: subgraphFormatError,
        includeStacktraceInErrorResponses: false,
        // The process owns SIGTERM/SIGINT and stops every server in order.
        stopOnTerminationSignals: false,
        plugins: [
          ApolloServerPluginDrainHttpServer({
            httpServer: server,
            stopGracePeriodMillis: deps.shutdownGraceMs ?? 10_000,
          }),
          ApolloServerPluginLandingPageDisabled(),
          ApolloServerPluginInlineTraceDisabled(),
          errorLoggingPlugin(),
          ...(definition.plugins ?? []),
        ],
      });
      await apollo.start();

      app.get('/healthz', (_req, res) => {
        res.json({ status: 'ok', service: definition.name });
      });
      app.get('/readyz', async (_req, res) => {
        if (draining.active) {
          res.status(503).json({ status: 'draining', service: definition.name });
          return;
        }
        const [checks, informational] = await Promise.all([
          readiness(deps),
          definition.informationalChecks?.().catch(() => ({})) ?? {},
        ]);
        const ok = Object.values(checks).every((c) => c === 'ok');
        res.status(ok ? 200 : 503).json({
          status: ok ? 'ok' : 'unavailable',
          service: definition.name,
          checks: { ...checks, ...informational },
        });
      });
      const router = express.Router();
      definition.routes?.(router);
      app.use(router);
      if (definition.internalRoutes?.length) {
        const internal = express.Router();
        for (const route of definition.internalRoutes)
          internal.post(route.contract.path, serveInternalRoute(route, logger));
        app.use(
          '/internal',
          internalDoor(definition.name, deps.gatewayKey, deps.trustedServices ?? {}),
          jsonBody(),
          internal,
        );
      }

      app.use(
        '/graphql',
        gatewayDoor(definition.name, deps.gatewayKey),
        jsonBody(definition.maxBodyBytes),
        expressMiddleware(apollo, {
          context: async ({ res }) => {
            const { caller, requestId, client } = res.locals as {
              caller: Caller;
              requestId: string;
              client: ClientInfo;
            };
            const idempotencyKey = res.req.header(IDEMPOTENCY_HEADER) ?? null;
            const deadline = Number(res.req.header(DEADLINE_HEADER));
            return definition.createContext({
              requestId,
              caller,
              client,
              logger: logger.child({ requestId }),
              idempotencyKey: idempotencyKey && IDEMPOTENCY_KEY.test(idempotencyKey) ? idempotencyKey : null,
              deadline: Number.isSafeInteger(deadline) && deadline > 0 ? deadline : null,
            });
          },
        }),
      );
      app.use(httpErrorHandler);
      for (const task of definition.background ?? []) await task.start();
      // Jobs that must have run before the service answers (e.g. the security state in the store).
      for (const job of definition.jobs ?? []) {
        if (job.runAtStart) await job.run();
      }
      const listening = await listen(server, host, port);
      for (const job of definition.jobs ?? []) {
        let busy = false;
        const timer = setInterval(() => {
          if (busy) return; // never overlap runs of one job
          busy = true;
          const run = job
            .run()
            .catch((error: unknown) => logger.error({ err: error, job: job.name }, 'background job failed'))
            .finally(() => {
              busy = false;
              running.delete(run);
            });
          running.add(run);
        }, job.intervalMs);
        timer.unref();
        timers.push(timer);
      }
      consumer?.start();
      logger.info({ url: `${listening.url}/graphql` }, 'subgraph listening');
      return { url: listening.url, port: listening.port };
    },
    drain: () => draining.start(),
    async stop() {
      for (const timer of timers.splice(0)) clearInterval(timer);
      await Promise.allSettled([...running, consumer?.stop(), ...(definition.background ?? []).map((t) => t.stop())]);
      // A draining service stops accepting only once connections have stopped arriving.
      if (draining.active) await draining.quiet();
      // apollo.stop() runs the drain plugin: stop accepting, let in-flight requests finish, then close.
      await apollo?.stop();
      if (server?.listening) await new Promise((resolve) => server?.close(resolve));
    },
  };
}

/** The subgraph's event consumer, checked against what its manifest entry declares. */
function eventConsumer<TContext extends BaseContext>(
  definition: SubgraphDefinition<TContext>,
  deps: SubgraphDeps,
  logger: Logger,
): EventConsumer | null {
  const handled = (definition.consumers ?? []).map((h) => h.contract.topic).sort();
  const declared = [...(findService(definition.name)?.consumes ?? [])].sort();
  if (handled.join() !== declared.join()) {
    throw new Error(
      `${definition.name} handles events [${handled.join(', ')}] but its manifest entry consumes [${declared.join(', ')}]`,
    );
  }
  if (!handled.length) return null;
  if (!deps.db) throw new Error(`${definition.name} consumes events but has no database`);
  return new EventConsumer({
    db: deps.db,
    consumer: definition.name,
    handlers: definition.consumers ?? [],
    logger,
    ...(deps.eventPollIntervalMs ? { pollIntervalMs: deps.eventPollIntervalMs } : {}),
  });
}

/** Refuses every request that does not carry a valid gateway token for this subgraph. */
function gatewayDoor(audience: string, key: VerifyKey): express.RequestHandler {
  return (req, res, next) => {
    const token = req.header(GATEWAY_TOKEN_HEADER);
    if (!token) {
      res.status(401).json(errorBody('UNAUTHENTICATED', 'This service accepts requests only through the gateway'));
      return;
    }
    verifyGatewayToken(key, token, audience).then(
      ({ caller, requestId, client }) => {
        res.locals.caller = caller;
        res.locals.requestId = requestId;
        res.locals.client = client;
        res.locals.internalCaller = 'gateway';
        next();
      },
      () => {
        res.status(401).json(errorBody('UNAUTHENTICATED', 'Invalid gateway signature'));
      },
    );
  };
}

/**
 * /internal routes: the gateway (a gateway token) or a trusted service (a service token signed with its own key);
 * `res.locals.internalCaller` names the caller for the route's contract check.
 */
function internalDoor(
  audience: string,
  gatewayKey: VerifyKey,
  trusted: Record<string, JWTVerifyGetKey>,
): express.RequestHandler {
  const fromGateway = gatewayDoor(audience, gatewayKey);
  return (req, res, next) => {
    const token = req.header(SERVICE_TOKEN_HEADER);
    if (!token) {
      fromGateway(req, res, next);
      return;
    }
    const issuer = req.header('x-g3d-service') ?? '';
    const keys = Object.hasOwn(trusted, issuer) ? trusted[issuer] : undefined;
    if (!keys) {
      res.status(401).json(errorBody('UNAUTHENTICATED', 'Unknown calling service'));
      return;
    }
    verifyServiceToken(keys, token, { issuer, audience }).then(
      () => {
        res.locals.internalCaller = issuer;
        res.locals.requestId = req.header('x-request-id')?.slice(0, 128) ?? 'internal';
        next();
      },
      () => {
        res.status(401).json(errorBody('UNAUTHENTICATED', 'Invalid service signature'));
      },
    );
  };
}

async function readiness(deps: SubgraphDeps): Promise<Record<string, string>> {
  const checks: Record<string, string> = {};
  const timeout = <T>(p: Promise<T>) =>
    Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 2_000).unref())]);
  const [db, store] = await Promise.allSettled([
    deps.db ? timeout(pingDatabase(deps.db.pool)) : Promise.resolve(),
    timeout(deps.store.ping()),
  ]);
  if (deps.db) checks.database = db.status === 'fulfilled' ? 'ok' : 'unreachable';
  checks.store = store.status === 'fulfilled' ? 'ok' : 'unreachable';
  return checks;
}

/**
 * Apollo `formatError` for subgraphs: a dependency that failed is SERVICE_UNAVAILABLE naming it (a client can
 * retry); expected errors pass; anything else is masked.
 */
export function subgraphFormatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const dependency = unavailableDependency(originalError(error));
  if (!dependency) return formatError(formatted, error);
  return {
    message: `The ${dependency === 'database' ? 'database' : 'shared store'} is unavailable; retry in a moment`,
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: 'SERVICE_UNAVAILABLE', dependency },
  };
}

/** A subgraph's masked error relayed by the gateway: the subgraph logged it, with its stack, under the request id. */
function loggedBySubgraph(error: { extensions?: Record<string, unknown>; originalError?: unknown }): boolean {
  const original = error.originalError;
  const relayed = typeof original === 'object' && original !== null && !(original instanceof Error);
  return relayed && typeof error.extensions?.requestId === 'string';
}

/**
 * Logs unexpected errors with their stack, a failed dependency once per request, and stamps the request id on
 * the masked ones.
 */
export function errorLoggingPlugin<T extends BaseContext>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      let dependencyLogged = false;
      return {
        async didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) {
            // Not always a GraphQLError of this realm (the gateway relays others): read only plain fields.
            const formatted = { message: String(error.message), extensions: error.extensions };
            const dependency = unavailableDependency(originalError(error));
            if (dependency) {
              if (!dependencyLogged)
                contextValue.logger.error({ err: originalError(error), dependency }, 'dependency unavailable');
              dependencyLogged = true;
            } else if (!isExpectedError(formatted, error) && !loggedBySubgraph(error)) {
              contextValue.logger.error({ err: originalError(error), path: error.path }, 'unexpected error');
            }
          }
        },
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          if (!result.errors) return;
          result.errors = result.errors.map((error) =>
            error.extensions?.code === 'INTERNAL_SERVER_ERROR'
              ? { ...error, extensions: { ...error.extensions, requestId: contextValue.requestId } }
              : error,
          );
        },
      };
    },
  };
}
