// The common shape of an HTTP scenario: check one response by hand, then load the same request from the
// load-generator process and check every response against it.
import { runHttpLoad } from '../load/http-load.ts';
import { type BenchContext, fromLoadStats, type Measurement } from '../scenario.ts';

export interface HttpTarget {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  kind: 'exact' | 'graphql';
  /**
   * For responses that differ every time (login: a fresh token each): instead of comparing with the verified
   * body, every response must be error-free GraphQL with a non-empty string at data.<expectField>.
   */
  expectField?: string[];
  /** Concurrent connections, when not the configured BENCH_CONNECTIONS. */
  connections?: number;
  /** Validates the body of the hand-checked response (throw to abort the scenario). */
  validate(status: number, text: string): void;
  /** For short-lived credentials: fresh headers, sent to the load generator every 30 s. */
  refreshHeaders?: () => Promise<Record<string, string>>;
}

export async function measureHttp(ctx: BenchContext, target: HttpTarget): Promise<Measurement> {
  const response = await fetch(target.url, {
    method: target.method,
    headers: target.headers,
    ...(target.body === undefined ? {} : { body: target.body }),
  });
  const text = await response.text();
  target.validate(response.status, text);
  ctx.log(`  verified one response: HTTP ${response.status}, ${text.length} bytes: ${preview(text)}`);

  const { config } = ctx;
  const { warmup, measured, server } = await runHttpLoad(
    {
      url: target.url,
      method: target.method,
      headers: target.headers,
      ...(target.body === undefined ? {} : { body: target.body }),
      check: target.expectField
        ? { kind: 'graphql-field', path: target.expectField }
        : { kind: target.kind, body: text },
      connections: target.connections ?? config.connections,
      durationS: config.durationS,
      warmupS: config.warmupS,
      timeoutS: 10,
    },
    target.refreshHeaders ? { refreshHeaders: target.refreshHeaders, refreshEveryS: 30 } : {},
  );
  if (warmup && warmup.errors.total > 0) {
    ctx.log(`  WARNING: ${warmup.errors.total} errors during warm-up: ${JSON.stringify(warmup.errors)}`);
  }
  for (const sample of measured.samples) ctx.log(`  failure sample: ${sample}`);
  return fromLoadStats(measured, server, {
    responseBytes: Buffer.byteLength(text),
    warmup: warmup ? { requests: warmup.requests, rps: warmup.rps, errors: warmup.errors } : null,
  });
}

/** Throws unless the response is a 2xx GraphQL response with data and no errors. */
export function expectGraphQLData(status: number, text: string): Record<string, unknown> {
  if (status < 200 || status > 299) throw new Error(`HTTP ${status}: ${preview(text)}`);
  const body = JSON.parse(text) as { data?: Record<string, unknown> | null; errors?: unknown[] };
  if (body.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors).slice(0, 500)}`);
  if (!body.data) throw new Error(`no data: ${preview(text)}`);
  return body.data;
}

const preview = (text: string) => {
  const oneLine = text.trim().replace(/\s*\n\s*/g, ' ');
  return oneLine.length > 160 ? `${oneLine.slice(0, 160)}…` : oneLine;
};
