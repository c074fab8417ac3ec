// The Apollo gateway on a static supergraph, in Apollo Server 5 on our own HTTP server (so graphql-ws can
// share /graphql later). Each subgraph fetch carries a gateway token: the caller as verified here, signed,
// bound to that subgraph. With auth off it is a plain gateway for any supergraph (third-party subgraphs).
import { randomUUID } from 'node:crypto';
import type http from 'node:http';

import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { expressMiddleware } from '@as-integrations/express5';
import { ANONYMOUS, type Caller, callerIsPlatformAdmin, type ClientInfo, type SigningKey } from '@g3d/auth';
import { AppError, formatError } from '@g3d/errors';
import {
  createHttpFetcher,
  createHttpServer,
  Draining,
  errorLoggingPlugin,
  httpErrorHandler,
  IDEMPOTENCY_KEY,
  jsonBody,
  listen,
  type Logger,
  MAX_BODY_BYTES,
} from '@g3d/kit';
import type { Store } from '@g3d/store';
import express from 'express';
import type { GraphQLFormattedError } from 'graphql';

import { createApiKeyVerifier } from './api-keys.ts';
import { authenticate, type PlatformAuth } from './authenticate.ts';
import { disableApolloGatewayTelemetry } from './config.ts';
import { SignedDataSource } from './data-source.ts';
import { corsMiddleware, type CorsSettings, rateLimit, type RateLimitSettings, securityHeaders } from './edge.ts';
import { entitlementsPlugin, type ServiceEntitlements } from './entitlements.ts';
import {
  createLimitChecker,
  credentialFieldsOf,
  DEFAULT_LIMITS,
  type OperationLimits,
  operationLimits,
} from './limits.ts';
import { createReadinessMonitor } from './readiness.ts';
import { type SubgraphEndpoint, subgraphEndpoints } from './supergraph.ts';

export interface GatewayContext {
  requestId: string;
  /** The client's Idempotency-Key, forwarded to the subgraphs. */
  idempotencyKey: string | null;
  caller: Caller;
  client: ClientInfo;
  logger: Logger;
  /** Gateway tokens minted for this request, one per subgraph. */
  tokens: Map<string, Promise<string>>;
  /** When the request must be answered (epoch ms): subgraph fetches get what remains, and are told. */
  deadline: number;
  /** What the AI wrappers' entitlement decisions reported, by service (relayed to the client). */
  entitlements: ServiceEntitlements;
}

export interface GatewayOptions {
  supergraphSdl: string;
  /** Overrides of subgraph URLs by subgraph name (the all-in-one process and tests use random ports). */
  subgraphUrls?: Record<string, string>;
  auth: (PlatformAuth & { signingKey: SigningKey }) | { mode: 'off' };
  store: Store;
  logger: Logger;
  nodeEnv: 'development' | 'production' | 'test';
  introspection: boolean;
  /** How many reverse proxies in front of the gateway may be trusted to set X-Forwarded-For. */
  trustProxyHops?: number;
  /** Operation limits (default DEFAULT_LIMITS); null: none (only for measuring what they cost). */
  limits?: OperationLimits | null;
  cors?: CorsSettings;
  rateLimit?: RateLimitSettings;
  /** How often subgraph readiness is probed in the background (default 5 s). */
  readinessIntervalMs?: number;
  /** Longest one subgraph fetch may take (default 10 s). */
  subgraphTimeoutMs?: number;
  /** Longest a whole request may take (default 15 s); fetches share what remains of it. */
  requestTimeoutMs?: number;
  /** Largest body a signed-in caller may send (AI inputs); anonymous callers get MAX_BODY_BYTES. */
  maxRequestBytes?: number;
  /** How long in-flight requests may take to finish once the gateway stops (default 10 s). */
  shutdownGraceMs?: number;
}

/** Extensions an error may carry to the client; anything else (subgraph URLs, bodies, statuses) is dropped. */
const CLIENT_EXTENSIONS = new Set([
  'code',
  'field',
  'reason',
  'limit',
  'retryAfterSeconds',
  'mfaToken',
  'requestId',
  'service',
  'remaining',
  'resetSeconds',
  'dependency',
  // An AI upstream's refusal of the input (IMAGE_TOO_LARGE, MALFORMED_IMAGE, …): what to fix.
  'upstreamCode',
]);

function gatewayFormatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const result = formatError(formatted, error);
  const extensions = Object.fromEntries(
    Object.entries(result.extensions ?? {}).filter(([key]) => CLIENT_EXTENSIONS.has(key)),
  );
  return { ...result, extensions };
}

export interface GatewayService {
  start(options: { host: string; port: number }): Promise<{ url: string; port: number }>;
  /** Shutdown, first step: readiness fails and connections close after their response; still serving. */
  drain(): void;
  stop(): Promise<void>;
  endpoints: SubgraphEndpoint[];
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export function createGateway(options: GatewayOptions): GatewayService {
  const logger = options.logger.child({ service: 'gateway' });
  const endpoints = subgraphEndpoints(options.supergraphSdl, options.subgraphUrls ?? {});
  const urls = new Map(endpoints.map((e) => [e.name, e.url]));
  const signingKey = options.auth.mode === 'platform' ? options.auth.signingKey : null;
  const identityUrl = urls.get('identity');
  const apiKeyVerifier = signingKey && identityUrl ? createApiKeyVerifier(identityUrl, signingKey, logger) : null;
  let server: http.Server | undefined;
  let apollo: ApolloServer<GatewayContext> | undefined;
  let readiness: ReturnType<typeof createReadinessMonitor> | undefined;
  const draining = new Draining();
  const fetcher = createHttpFetcher();

  return {
    endpoints,
    async start({ host, port }) {
      const app = express();
      app.disable('x-powered-by');
      app.use(draining.middleware);
      server = createHttpServer(app);
      draining.watch(server);
      disableApolloGatewayTelemetry();
      const limits = options.limits === null ? null : (options.limits ?? DEFAULT_LIMITS);
      const gateway = new ApolloGateway({
        supergraphSdl: options.supergraphSdl,
        buildService: ({ name, url }) =>
          new SignedDataSource(
            {
              name,
              url: urls.get(name) ?? url ?? '',
              fetch: fetcher.fetch,
              timeoutMs: options.subgraphTimeoutMs ?? 10_000,
            },
            signingKey,
          ),
        logger,
        // Never show query plans to clients (internal topology), whatever NODE_ENV says.
        __exposeQueryPlanExperimental: false,
        // The last limit, known only once the operation is planned: how many subgraph fetches it takes.
        experimental_didResolveQueryPlan: ({ queryPlan }) => {
          const fetches = JSON.stringify(queryPlan.node ?? {}).split('"kind":"Fetch"').length - 1;
          if (limits && fetches > limits.maxFetches) {
            throw new AppError(
              'OPERATION_LIMIT_EXCEEDED',
              `Subgraph fetches limit of ${limits.maxFetches} exceeded, found ${fetches}`,
              { limit: 'fetches', http: { status: 400 } },
            );
          }
        },
      });
      apollo = new ApolloServer<GatewayContext>({
        gateway,
        formatError: gatewayFormatError,
        includeStacktraceInErrorResponses: false,
        // No "Did you mean …" suggestions in production: they reveal the schema while introspection is off.
        hideSchemaDetailsFromClientErrors: options.nodeEnv === 'production',
        ...(limits ? { parseOptions: { maxTokens: limits.maxTokens } } : {}),
        // The process owns SIGTERM/SIGINT and stops every server in order.
        stopOnTerminationSignals: false,
        introspection: options.introspection,
        plugins: [
          ApolloServerPluginDrainHttpServer({
            httpServer: server,
            stopGracePeriodMillis: options.shutdownGraceMs ?? 10_000,
          }),
          options.nodeEnv === 'production'
            ? ApolloServerPluginLandingPageDisabled()
            : ApolloServerPluginLandingPageLocalDefault({ embed: true }),
          errorLoggingPlugin<GatewayContext>(),
          unavailableAs503(),
          entitlementsPlugin<GatewayContext>(),
        ],
      });
      await apollo.start();
      const checker = limits
        ? createLimitChecker(
            () => gateway.schema ?? (undefined as never),
            limits,
            credentialFieldsOf(options.supergraphSdl),
          )
        : null;
      readiness = createReadinessMonitor({
        endpoints,
        required: endpoints.some((e) => e.name === 'identity') && signingKey ? ['identity'] : [],
        intervalMs: options.readinessIntervalMs ?? 5_000,
        logger,
      });
      await readiness.refresh();

      app.use(securityHeaders(options.nodeEnv === 'production'));
      if (options.cors) app.use(corsMiddleware(options.cors));
      app.get('/healthz', (_req, res) => {
        res.json({ status: 'ok', service: 'gateway' });
      });
      // Details (which subgraph is down) only for platform administrators; everyone else gets the verdict.
      const readyz: express.RequestHandler = (_req, res) => {
        const view = readiness?.view() ?? { ready: false, subgraphs: {}, checkedAt: null };
        if (draining.active) {
          res.status(503).json({ status: 'draining' });
          return;
        }
        const caller = res.locals.caller as Caller | undefined;
        const degraded = Object.values(view.subgraphs).some((s) => s !== 'ok');
        const status = view.ready ? (degraded ? 'degraded' : 'ok') : 'unavailable';
        res
          .status(view.ready ? 200 : 503)
          .json(caller && callerIsPlatformAdmin(caller) ? { status, ...view } : { status });
      };
      const clientIp = (req: express.Request) => clientInfo(req, options.trustProxyHops ?? 0).ip;

      const identify: express.RequestHandler = (req, res, next) => {
        const incoming = req.header('x-request-id');
        const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
        res.locals.requestId = requestId;
        res.setHeader('x-request-id', requestId);
        next();
      };
      const anonymous: express.RequestHandler = (_req, res, next) => {
        res.locals.caller = ANONYMOUS;
        next();
      };
      const authentication =
        options.auth.mode === 'platform'
          ? authenticate(options.auth, options.store, apiKeyVerifier, logger)
          : anonymous;
      app.get(
        '/readyz',
        identify,
        (req, res, next) => (req.header('authorization') ? authentication : anonymous)(req, res, next),
        readyz,
      );
      app.use(
        '/graphql',
        identify,
        // Credentials first (headers only), so that only signed-in callers may send the large bodies of AI inputs.
        authentication,
        bodyByCaller(options.maxRequestBytes ?? MAX_BODY_BYTES),
        ...(checker ? [operationLimits(checker)] : []),
        ...(options.rateLimit ? [rateLimit(options.store, options.rateLimit, clientIp, logger)] : []),
        expressMiddleware(apollo, {
          context: async ({ req, res }) => {
            const { requestId, caller } = res.locals as { requestId: string; caller: Caller };
            const client = clientInfo(req, options.trustProxyHops ?? 0);
            const idempotencyKey = req.header('idempotency-key') ?? null;
            return {
              requestId,
              caller,
              client,
              idempotencyKey: idempotencyKey && IDEMPOTENCY_KEY.test(idempotencyKey) ? idempotencyKey : null,
              logger: logger.child({ requestId }),
              tokens: new Map(),
              deadline: Date.now() + (options.requestTimeoutMs ?? 15_000),
              entitlements: {},
            };
          },
        }),
      );
      app.use(httpErrorHandler);
      const listening = await listen(server, host, port);
      logger.info({ url: `${listening.url}/graphql` }, 'gateway listening');
      return { url: listening.url, port: listening.port };
    },
    drain: () => draining.start(),
    async stop() {
      readiness?.stop();
      // A draining gateway stops accepting only once connections have stopped arriving.
      if (draining.active) await draining.quiet();
      await apollo?.stop();
      fetcher.close();
      apiKeyVerifier?.close();
      if (server?.listening) await new Promise((resolve) => server?.close(resolve));
    },
  };
}

/** Nothing could be served because dependencies are down: HTTP 503 (retryable), not 200 with only errors. */
function unavailableAs503(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          const { data, errors } = response.body.singleResult;
          const allUnavailable = errors?.length && errors.every((e) => e.extensions?.code === 'SERVICE_UNAVAILABLE');
          if (allUnavailable && (data === null || data === undefined)) response.http.status = 503;
        },
      };
    },
  };
}

/**
 * The client's address: the socket's peer, or with N trusted proxies the Nth address from the right of
 * X-Forwarded-For (anything further left is client-controlled and ignored).
 */
export function clientInfo(req: express.Request, trustProxyHops: number): ClientInfo {
  let ip = req.socket.remoteAddress ?? '';
  if (trustProxyHops > 0) {
    const chain = (req.header('x-forwarded-for') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    ip = chain[chain.length - trustProxyHops] ?? ip;
  }
  return { ip: ip.slice(0, 64), userAgent: (req.header('user-agent') ?? '').slice(0, 512) };
}

/** JSON bodies up to `signedInLimit` for signed-in callers, MAX_BODY_BYTES for anonymous ones. */
function bodyByCaller(signedInLimit: number): express.RequestHandler {
  const small = jsonBody(MAX_BODY_BYTES);
  const large = jsonBody(Math.max(signedInLimit, MAX_BODY_BYTES));
  return (req, res, next) => {
    const caller = res.locals.caller as Caller | undefined;
    (caller && caller.kind !== 'anonymous' ? large : small)(req, res, next);
  };
}
