// Service-to-service HTTP over node:http(s) with keep-alive agents: the gateway's subgraph fetches and the
// services' /internal calls. The gateway's default fetcher (make-fetch-happen) and undici's fetch cost several
// times the CPU per request for layers not used here (an HTTP cache that never stores a POST, retries that are
// off, streams), and these calls sit on every request (gateway) or every login (identity → organization).
import http from 'node:http';
import https from 'node:https';

/** The part of `fetch`'s init these calls use. */
export interface HttpFetchInit {
  method?: string;
  headers?: Record<string, string> | Headers;
  body?: string | Buffer | null;
  signal?: AbortSignal | null;
}

export type HttpFetch = (url: string, init?: HttpFetchInit) => Promise<BufferedResponse>;

export class BufferedResponse {
  bodyUsed = false;
  readonly redirected = false;

  constructor(
    readonly url: string,
    readonly status: number,
    readonly statusText: string,
    readonly headers: Headers,
    private readonly body: Buffer,
  ) {}

  get ok() {
    return this.status >= 200 && this.status < 300;
  }

  private consume(): Buffer {
    if (this.bodyUsed) throw new TypeError('Body has already been used');
    this.bodyUsed = true;
    return this.body;
  }

  async text() {
    return this.consume().toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }

  async arrayBuffer() {
    return new Uint8Array(this.consume()).buffer;
  }

  clone() {
    return new BufferedResponse(this.url, this.status, this.statusText, new Headers(this.headers), this.body);
  }
}

/** A fetch-alike (enough for RemoteGraphQLDataSource and JSON calls); `close` ends its idle connections. */
export function createHttpFetcher(): { fetch: HttpFetch; close(): void } {
  const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };
  const fetch: HttpFetch = (url, init = {}) =>
    new Promise((resolve, reject) => {
      const target = new URL(url);
      const agent = target.protocol === 'https:' ? agents['https:'] : agents['http:'];
      const request = (target.protocol === 'https:' ? https : http).request(
        target,
        {
          method: init.method ?? 'GET',
          headers: init.headers instanceof Headers ? Object.fromEntries(init.headers) : init.headers,
          agent,
          signal: init.signal ?? undefined,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const headers = new Headers();
            const raw = response.rawHeaders;
            for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
            const status = response.statusCode ?? 0;
            resolve(new BufferedResponse(url, status, response.statusMessage ?? '', headers, Buffer.concat(chunks)));
          });
        },
      );
      request.on('error', reject);
      request.end(init.body ?? undefined);
    });
  return {
    fetch,
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}
