// Subgraph fetches: each carries a gateway token (the caller as verified at the edge, signed, bound to that
// subgraph). What a subgraph answers besides data is translated for the client: its expected errors (a client's
// bad input) pass with their code; an unreachable or failing subgraph becomes SERVICE_UNAVAILABLE naming the
// service; nothing internal (URLs, statuses, bodies) reaches the client.
import { type GraphQLDataSourceProcessOptions, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ANONYMOUS, GATEWAY_TOKEN_HEADER, signGatewayToken, type SigningKey } from '@g3d/auth';
import { AppError } from '@g3d/errors';
import { DEADLINE_HEADER, type HttpFetch, IDEMPOTENCY_HEADER } from '@g3d/kit';
import { GraphQLError } from 'graphql';

import { collectEntitlements } from './entitlements.ts';
import type { GatewayContext } from './gateway.ts';

/** Codes a subgraph answers for the client's own mistakes: relayed as they are. */
const CLIENT_CODES = new Set(['BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED', 'BAD_REQUEST', 'GRAPHQL_PARSE_FAILED']);

type SubgraphResponse = Parameters<
  NonNullable<RemoteGraphQLDataSource<GatewayContext>['didReceiveResponse']>
>[0]['response'];

export class SignedDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    config: { name: string; url: string; fetch: HttpFetch; timeoutMs: number },
    private readonly signingKey: SigningKey | null,
  ) {
    super({ url: config.url, fetcher: withTimeout(config.name, config.fetch, config.timeoutMs) });
    this.subgraphName = config.name;
  }

  private readonly subgraphName: string;

  override async willSendRequest({ request, context: ctx }: GraphQLDataSourceProcessOptions<GatewayContext>) {
    // Health checks and other non-request fetches come with an empty context.
    const context = ctx as Partial<GatewayContext>;
    if (!context.requestId) return;
    request.http?.headers.set('x-request-id', context.requestId);
    if (context.deadline) request.http?.headers.set(DEADLINE_HEADER, String(context.deadline));
    if (context.idempotencyKey) request.http?.headers.set(IDEMPOTENCY_HEADER, context.idempotencyKey);
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

  /** The AI wrappers' entitlement decisions (response extensions) are kept for the client's response. */
  override didReceiveResponse({
    response,
    context,
  }: {
    response: SubgraphResponse;
    context: GatewayContext;
  }): SubgraphResponse {
    const entitlements = (context as Partial<GatewayContext>).entitlements;
    if (entitlements) collectEntitlements(entitlements, response.extensions);
    return response;
  }

  /** A non-2xx answer: the client's mistake passes with its code, anything else is the service's failure. */
  override async errorFromResponse(response: Parameters<RemoteGraphQLDataSource['errorFromResponse']>[0]) {
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    const first = (
      body as { errors?: { message?: unknown; extensions?: { code?: unknown; field?: unknown } }[] } | null
    )?.errors?.[0];
    const code = first?.extensions?.code;
    if (response.status >= 400 && response.status < 500 && typeof code === 'string' && CLIENT_CODES.has(code)) {
      const field = typeof first?.extensions?.field === 'string' ? { field: first.extensions.field } : {};
      return new GraphQLError(typeof first?.message === 'string' ? first.message : 'Invalid input', {
        // The whole request is the client's mistake: answer it with 400, as the gateway would have.
        extensions: {
          code: code === 'GRAPHQL_VALIDATION_FAILED' ? 'BAD_USER_INPUT' : code,
          ...field,
          http: { status: 400 },
        },
      });
    }
    return new AppError('SERVICE_UNAVAILABLE', `The ${this.subgraphName} service could not answer; retry later`, {
      service: this.subgraphName,
    });
  }
}

/**
 * A fetch bounded by the subgraph timeout and the request's deadline, whichever comes first; a connection
 * failure or a timeout is SERVICE_UNAVAILABLE naming the service (a frozen subgraph costs its timeout, no more).
 */
function withTimeout(name: string, fetch: HttpFetch, timeoutMs: number): RemoteGraphQLDataSource['fetcher'] {
  return (async (url: string, init: NonNullable<Parameters<HttpFetch>[1]> = {}) => {
    const headers = init.headers instanceof Headers ? init.headers : new Headers(init.headers ?? {});
    const deadline = Number(headers.get(DEADLINE_HEADER)) || Infinity;
    const budget = Math.max(1, Math.min(timeoutMs, deadline - Date.now()));
    const timeout = AbortSignal.timeout(budget);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    try {
      return await fetch(url, { ...init, signal });
    } catch {
      const what = timeout.aborted ? `did not answer within ${Math.round(budget)} ms` : 'is unreachable';
      throw new AppError('SERVICE_UNAVAILABLE', `The ${name} service ${what}; retry later`, { service: name });
    }
  }) as unknown as RemoteGraphQLDataSource['fetcher'];
}
