// The Apollo gateway on a static supergraph, in Apollo Server 5 on our own HTTP server (so graphql-ws can
// share /graphql later). Each subgraph fetch carries a gateway token: the caller as verified here, signed,
// bound to that subgraph. With auth off it is a plain gateway for any supergraph (third-party subgraphs).
import { randomUUID } from 'node:crypto';
import type http from 'node:http';

import { ApolloGateway, type GraphQLDataSourceProcessOptions, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { expressMiddleware } from '@as-integrations/express5';
import {
  ANONYMOUS,
  type Caller,
  type ClientInfo,
  GATEWAY_TOKEN_HEADER,
  signGatewayToken,
  type SigningKey,
} from '@g3d/auth';
import { formatError } from '@g3d/errors';
import {
  createHttpFetcher,
  createHttpServer,
  errorLoggingPlugin,
  httpErrorHandler,
  jsonBody,
  listen,
  type Logger,
  probeReadiness,
} from '@g3d/kit';
import type { Store } from '@g3d/store';
import express from 'express';

import { createApiKeyVerifier } from './api-keys.ts';
import { authenticate, type PlatformAuth } from './authenticate.ts';
import { disableApolloGatewayTelemetry } from './config.ts';
import { type SubgraphEndpoint, subgraphEndpoints } from './supergraph.ts';

export interface GatewayContext {
  requestId: string;
  caller: Caller;
  client: ClientInfo;
  logger: Logger;
  /** Gateway tokens minted for this request, one per subgraph. */
  tokens: Map<string, Promise<string>>;
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
}

export interface GatewayService {
  start(options: { host: string; port: number }): Promise<{ url: string; port: number }>;
  stop(): Promise<void>;
  endpoints: SubgraphEndpoint[];
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

class SignedDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    config: { name: string; url: string; fetcher: RemoteGraphQLDataSource['fetcher'] },
    private readonly signingKey: SigningKey | null,
  ) {
    super({ url: config.url, fetcher: config.fetcher });
    this.subgraphName = config.name;
  }

  private readonly subgraphName: string;

  override async willSendRequest({ request, context: ctx }: GraphQLDataSourceProcessOptions<GatewayContext>) {
    // Health checks and other non-request fetches come with an empty context.
    const context = ctx as Partial<GatewayContext>;
    if (!context.requestId) return;
    request.http?.headers.set('x-request-id', context.requestId);
    if (!this.signingKey || !context.tokens) return;
    let token = context.tokens.get(this.subgraphName);
    if (!token) {
      token = signGatewayToken(this.signingKey, this.subgraphName, {
        caller: context.caller ?? ANONYMOUS,
        requestId: context.requestId,
        ...(context.client ? { client: context.client } : {}),
      });
      context.tokens.set(this.subgraphName, token);
    }
    request.http?.headers.set(GATEWAY_TOKEN_HEADER, await token);
  }
}

export function createGateway(options: GatewayOptions): GatewayService {
  const logger = options.logger.child({ service: 'gateway' });
  const endpoints = subgraphEndpoints(options.supergraphSdl, options.subgraphUrls ?? {});
  const urls = new Map(endpoints.map((e) => [e.name, e.url]));
  const signingKey = options.auth.mode === 'platform' ? options.auth.signingKey : null;
  const identityUrl = urls.get('identity');
  const apiKeyVerifier = signingKey && identityUrl ? createApiKeyVerifier(identityUrl, signingKey, logger) : null;
  let server: http.Server | undefined;
  let apollo: ApolloServer<GatewayContext> | undefined;
  const fetcher = createHttpFetcher();

  return {
    endpoints,
    async start({ host, port }) {
      const app = express();
      app.disable('x-powered-by');
      server = createHttpServer(app);
      disableApolloGatewayTelemetry();
      const gateway = new ApolloGateway({
        supergraphSdl: options.supergraphSdl,
        buildService: ({ name, url }) =>
          new SignedDataSource(
            // The kit's keep-alive fetcher implements the part of fetch RemoteGraphQLDataSource uses.
            { name, url: urls.get(name) ?? url ?? '', fetcher: fetcher.fetch as RemoteGraphQLDataSource['fetcher'] },
            signingKey,
          ),
        logger,
      });
      apollo = new ApolloServer<GatewayContext>({
        gateway,
        formatError,
        includeStacktraceInErrorResponses: false,
        // The process owns SIGTERM/SIGINT and stops every server in order.
        stopOnTerminationSignals: false,
        introspection: options.introspection,
        plugins: [
          ApolloServerPluginDrainHttpServer({ httpServer: server, stopGracePeriodMillis: 10_000 }),
          options.nodeEnv === 'production'
            ? ApolloServerPluginLandingPageDisabled()
            : ApolloServerPluginLandingPageLocalDefault({ embed: true }),
          errorLoggingPlugin<GatewayContext>(),
        ],
      });
      await apollo.start();

      app.get('/healthz', (_req, res) => {
        res.json({ status: 'ok', service: 'gateway' });
      });
      app.get('/readyz', async (_req, res) => {
        const results = await Promise.all(
          endpoints.map(async (e) => [e.name, (await probeReadiness(e.url, 2_000)).ok ? 'ok' : 'unavailable'] as const),
        );
        const subgraphs = Object.fromEntries(results);
        const ok = results.every(([, status]) => status === 'ok');
        res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'degraded', subgraphs });
      });

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
      app.use(
        '/graphql',
        identify,
        options.auth.mode === 'platform' ? authenticate(options.auth, options.store, apiKeyVerifier) : anonymous,
        jsonBody(),
        expressMiddleware(apollo, {
          context: async ({ req, res }) => {
            const { requestId, caller } = res.locals as { requestId: string; caller: Caller };
            const client = clientInfo(req, options.trustProxyHops ?? 0);
            return { requestId, caller, client, logger: logger.child({ requestId }), tokens: new Map() };
          },
        }),
      );
      app.use(httpErrorHandler);
      const listening = await listen(server, host, port);
      logger.info({ url: `${listening.url}/graphql` }, 'gateway listening');
      return { url: listening.url, port: listening.port };
    },
    async stop() {
      await apollo?.stop();
      fetcher.close();
      apiKeyVerifier?.close();
      if (server?.listening) await new Promise((resolve) => server?.close(resolve));
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
