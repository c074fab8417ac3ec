// Fetching a user-supplied input URL without letting the user aim the platform at its own network (SSRF):
// http(s) only; every address the host resolves to must be public unicast; the connection goes to the vetted
// addresses (a custom `lookup` on the connector, so a second, rebinding DNS answer is never asked for); redirects
// are followed by hand, each target vetted again; size and total time are capped.
import type { LookupOptions } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';

import { AppError } from '@g3d/errors';
import { Agent } from 'undici';

import { ipLiteral, isPublicAddress, normalizeHost } from './address-policy.ts';
import { declaredLength, discard, headerValue, readCapped } from './body.ts';

export interface ResolvedAddress {
  address: string;
  family: number;
}

export interface FetchInputUrlOptions {
  maxBytes: number;
  /** The limit on the whole fetch: resolution, redirects and the body. */
  timeoutMs: number;
  /** Host names (or IP literals) exempt from the address check: trusted internal stores, tests. */
  allowHosts?: readonly string[];
  /** Resolves a host name to all its addresses. Default: node:dns/promises `lookup(host, { all: true })`. */
  lookup?: (hostname: string) => Promise<ResolvedAddress[]>;
  signal?: AbortSignal;
}

export interface FetchedInput {
  bytes: Buffer;
  contentType: string | null;
}

const MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const PRIVATE_ADDRESS = 'The URL points to a private or reserved address';

const refused = (message: string) =>
  new AppError('BAD_USER_INPUT', message, { field: 'url', reason: 'URL_NOT_ALLOWED' });
const unreachable = (message: string) =>
  new AppError('BAD_USER_INPUT', message, { field: 'url', reason: 'URL_UNREACHABLE' });
const tooLarge = (maxBytes: number) =>
  new AppError('BAD_USER_INPUT', `The content at the URL is larger than ${maxBytes} bytes`, {
    field: 'url',
    reason: 'INPUT_TOO_LARGE',
  });

const systemLookup = (hostname: string): Promise<ResolvedAddress[]> => dnsLookup(hostname, { all: true });

interface VettingContext {
  allowHosts: ReadonlySet<string>;
  resolve: (hostname: string) => Promise<ResolvedAddress[]>;
  /** Normalized host name → the addresses it was vetted at (the only ones the connector will use). */
  vetted: Map<string, ResolvedAddress[]>;
  signal: AbortSignal;
}

export async function fetchInputUrl(url: string, options: FetchInputUrlOptions): Promise<FetchedInput> {
  // One controller for the whole fetch: the time cap and the caller's cancellation abort whatever is in flight.
  const controller = new AbortController();
  const context: VettingContext = {
    allowHosts: new Set((options.allowHosts ?? []).map(normalizeHost)),
    resolve: options.lookup ?? systemLookup,
    vetted: new Map(),
    signal: controller.signal,
  };
  const agent = new Agent({ connect: { lookup: pinnedLookup(context.vetted) } });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.timeoutMs);
  const cancel = () => controller.abort();
  if (options.signal?.aborted) cancel();
  else options.signal?.addEventListener('abort', cancel, { once: true });
  try {
    let target = parseTarget(url);
    for (let redirects = 0; ; redirects++) {
      await vet(target, context);
      const response = await agent.request({
        origin: target.origin,
        path: `${target.pathname}${target.search}`,
        method: 'GET',
        headers: { accept: '*/*', 'user-agent': 'g3d-input-fetch' },
        signal: controller.signal,
      });
      const { statusCode: status, headers, body } = response;
      if (REDIRECT_STATUSES.has(status)) {
        discard(body);
        const location = headerValue(headers, 'location');
        if (location === null) throw unreachable(`The URL answered HTTP ${status} without a location`);
        if (redirects >= MAX_REDIRECTS) throw refused(`The URL redirected more than ${MAX_REDIRECTS} times`);
        target = parseTarget(location, target);
        continue;
      }
      if (status < 200 || status >= 300) {
        discard(body);
        throw unreachable(`The URL answered HTTP ${status}`);
      }
      const declared = declaredLength(headers);
      if (declared !== null && declared > options.maxBytes) {
        discard(body);
        throw tooLarge(options.maxBytes);
      }
      const bytes = await readCapped(body, options.maxBytes);
      if (bytes === null) throw tooLarge(options.maxBytes);
      return { bytes, contentType: headerValue(headers, 'content-type') };
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    if (options.signal?.aborted) {
      throw new AppError('SERVICE_UNAVAILABLE', 'The URL fetch was cancelled', { reason: 'CANCELLED' });
    }
    if (timedOut) throw unreachable(`The URL did not answer within ${options.timeoutMs} ms`);
    throw unreachable('The URL could not be reached');
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', cancel);
    await agent.destroy();
  }
}

function parseTarget(raw: string, base?: URL): URL {
  let target: URL;
  try {
    target = new URL(raw, base);
  } catch {
    throw refused('The URL is not valid');
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw refused('Only http and https URLs are allowed');
  }
  if (target.username !== '' || target.password !== '') throw refused('URLs with credentials are not allowed');
  return target;
}

/** Throws unless the target's host may be reached; records the addresses a named host was vetted at. */
async function vet(target: URL, context: VettingContext): Promise<void> {
  const host = normalizeHost(target.hostname);
  const allowed = context.allowHosts.has(host);
  const literal = ipLiteral(target.hostname);
  if (literal !== null) {
    // An IP literal is connected to as it is: no lookup involved.
    if (!allowed && !isPublicAddress(literal)) throw refused(PRIVATE_ADDRESS);
    return;
  }
  // RFC 6761: these names are loopback whatever a resolver says.
  if (!allowed && (host === 'localhost' || host.endsWith('.localhost'))) throw refused(PRIVATE_ADDRESS);
  if (context.vetted.has(host)) return; // a redirect back to a host already vetted keeps its addresses

  let addresses: ResolvedAddress[];
  try {
    addresses = await untilAborted(context.resolve(target.hostname), context.signal);
  } catch (error) {
    if (context.signal.aborted) throw error;
    throw unreachable("The URL's host could not be resolved");
  }
  if (addresses.length === 0) throw unreachable("The URL's host could not be resolved");
  // Any private address refuses the host: a resolver may hand out the addresses in any order.
  if (!allowed && !addresses.every(({ address }) => isPublicAddress(address))) {
    throw refused("The URL's host resolves to a private or reserved address");
  }
  context.vetted.set(host, addresses);
}

/** A connector lookup that answers only with vetted addresses and never asks DNS again. */
function pinnedLookup(vetted: ReadonlyMap<string, ResolvedAddress[]>): LookupFunction {
  return (hostname: string, options: LookupOptions, callback) => {
    const family = familyNumber(options.family);
    const addresses = (vetted.get(normalizeHost(hostname)) ?? []).filter((a) => family === 0 || a.family === family);
    const first = addresses[0];
    if (first === undefined) {
      callback(Object.assign(new Error('The host was not vetted'), { code: 'ENOTFOUND' }), '', 0);
    } else if (options.all) {
      callback(
        null,
        addresses.map(({ address, family }) => ({ address, family })),
      );
    } else {
      callback(null, first.address, first.family);
    }
  };
}

function familyNumber(family: LookupOptions['family']): number {
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return 0;
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
