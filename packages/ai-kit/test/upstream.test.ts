// UpstreamClient calls against real local HTTP servers standing in for model servers: results, refusals,
// timeouts, retries, cancellation, size caps and the span per call. (Circuit, status and health:
// upstream-circuit.test.ts.)
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { propagation, SpanStatusCode, type TextMapPropagator, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { UpstreamClient, type UpstreamSettings } from '../src/upstream/index.ts';
import { closeAll, fakeUpstream, type Handler, rejection, sendJson, tracked, until } from './fixtures/fake-upstream.ts';

/** Answers after `ms`, unless the client goes away first. */
const slow =
  (ms: number): Handler =>
  (res) => {
    const timer = setTimeout(() => sendJson(res, 200, { late: true }), ms);
    res.on('close', () => clearTimeout(timer));
  };

function client(settings: Partial<UpstreamSettings> & { baseUrl: string }, sleeps: number[] = []) {
  const created = new UpstreamClient(
    { service: 'superres', timeoutMs: 1000, retries: 3, ...settings },
    {
      random: () => 0.5,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    },
  );
  return tracked(created);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

afterEach(closeAll);

describe('UpstreamClient.call', () => {
  it('posts JSON to {baseUrl}/v1/{operation} and reuses one kept-alive connection', async () => {
    const upstream = await fakeUpstream((res, hit) => sendJson(res, 200, { echoed: JSON.parse(hit.body) as unknown }));
    const superres = client({ baseUrl: `${upstream.url}/superres/` });

    for (let scale = 1; scale <= 10; scale++) {
      await expect(superres.call('upscale', { scale }, { idempotent: true })).resolves.toEqual({ echoed: { scale } });
    }
    expect(upstream.hits.map((hit) => hit.url)).toEqual(Array(10).fill('/superres/v1/upscale'));
    expect(upstream.hits[0]?.headers['content-type']).toBe('application/json');
    // undici may open a second connection when a call follows the previous one's end within the same tick.
    expect(upstream.connections).toBeLessThanOrEqual(2);
  });

  it('relays a 4xx refusal as BAD_USER_INPUT with the upstream code and field, and does not retry it', async () => {
    const upstream = await fakeUpstream((res) =>
      sendJson(res, 422, { error: { code: 'INVALID_INPUT', message: 'scale must be 2, 3 or 4', field: 'scale' } }),
    );
    const error = await rejection(client({ baseUrl: upstream.url }).call('upscale', {}, { idempotent: true }));

    expect(error.message).toBe('scale must be 2, 3 or 4');
    expect(error.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      upstreamCode: 'INVALID_INPUT',
      field: 'scale',
      service: 'superres',
    });
    expect(upstream.hits).toHaveLength(1);
  });

  it('says "too large" for a 413, and treats a 4xx without an error body as an upstream error', async () => {
    const upstream = await fakeUpstream((res) =>
      sendJson(res, 413, { error: { code: 'INPUT_TOO_LARGE', message: 'The image is larger than 10 bytes' } }),
    );
    const superres = client({ baseUrl: upstream.url });
    const tooLarge = await rejection(superres.call('upscale', {}, { idempotent: true }));
    expect(tooLarge.message).toMatch(/too large/);
    expect(tooLarge.extensions).toMatchObject({ code: 'BAD_USER_INPUT', upstreamCode: 'INPUT_TOO_LARGE' });

    upstream.handler = (res) => sendJson(res, 404, { nothing: 'here' });
    const notFound = await rejection(superres.call('upscale', {}, { idempotent: true }));
    expect(notFound.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'UPSTREAM_ERROR', status: 404 });
    expect(superres.status().consecutiveFailures).toBe(0);
  });

  it('gives up on a slow upstream after timeoutMs, without retrying, and closes the connection', async () => {
    const upstream = await fakeUpstream(slow(2000));
    const superres = client({ baseUrl: upstream.url, timeoutMs: 300, retries: 3 });

    const started = performance.now();
    const error = await rejection(superres.call('upscale', {}, { idempotent: true }));
    const elapsed = performance.now() - started;

    expect(error.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', service: 'superres', reason: 'TIMEOUT' });
    expect(error.message).toBe('The superres upstream did not answer within 300 ms');
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(300 + 700);
    expect(upstream.hits).toHaveLength(1);
    expect(superres.status().consecutiveFailures).toBe(1);
  });

  it('stops at the caller deadline, and does not count a deadline cut against the upstream', async () => {
    const upstream = await fakeUpstream(slow(2000));
    const superres = client({ baseUrl: upstream.url, timeoutMs: 5000 });

    const started = performance.now();
    const error = await rejection(superres.call('upscale', {}, { idempotent: true, deadlineMs: Date.now() + 150 }));
    expect(error.extensions).toMatchObject({ reason: 'TIMEOUT' });
    expect(performance.now() - started).toBeLessThan(150 + 700);
    expect(superres.status().consecutiveFailures).toBe(0);

    const passed = await rejection(superres.call('upscale', {}, { idempotent: true, deadlineMs: Date.now() - 1 }));
    expect(passed.extensions).toMatchObject({ reason: 'TIMEOUT' });
    expect(upstream.hits).toHaveLength(1);
  });

  it('retries 503s with jittered exponential backoff when idempotent, and never when not', async () => {
    let failuresLeft = 2;
    const upstream = await fakeUpstream((res) =>
      failuresLeft-- > 0 ? sendJson(res, 503, { error: { code: 'BUSY', message: 'busy' } }) : sendJson(res, 200, 'ok'),
    );
    const sleeps: number[] = [];
    const superres = client({ baseUrl: upstream.url, backoff: { baseMs: 100, maxMs: 2000 } }, sleeps);

    await expect(superres.call('upscale', {}, { idempotent: true })).resolves.toBe('ok');
    expect(upstream.hits).toHaveLength(3);
    expect(sleeps).toEqual([50, 100]); // random() = 0.5 × min(2000, 100 × 2^attempt)

    failuresLeft = 2;
    const error = await rejection(superres.call('upscale', {}, { idempotent: false }));
    expect(error.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'UPSTREAM_ERROR', status: 503 });
    expect(upstream.hits).toHaveLength(4);
  });

  it("honours a 503's Retry-After up to backoff.maxMs", async () => {
    let failuresLeft = 2;
    const upstream = await fakeUpstream((res) =>
      failuresLeft-- > 0 ? sendJson(res, 503, {}, { 'retry-after': failuresLeft ? '1' : '60' }) : sendJson(res, 200, 1),
    );
    const sleeps: number[] = [];
    const superres = client({ baseUrl: upstream.url, backoff: { baseMs: 100, maxMs: 3000 } }, sleeps);

    await expect(superres.call('upscale', {}, { idempotent: true })).resolves.toBe(1);
    expect(sleeps).toEqual([1000, 3000]);

    // A pause that would outlast the call's budget (timeoutMs × attempts) is not taken: the call fails now.
    failuresLeft = 1;
    sleeps.length = 0;
    const impatient = client({ baseUrl: upstream.url, retries: 1, backoff: { maxMs: 5000 } }, sleeps);
    const error = await rejection(impatient.call('upscale', {}, { idempotent: true }));
    expect(error.extensions).toMatchObject({ reason: 'UPSTREAM_ERROR', status: 503 });
    expect(sleeps).toEqual([]);
  });

  it('makes exactly 1 + retries attempts at a failing upstream, then answers SERVICE_UNAVAILABLE', async () => {
    const upstream = await fakeUpstream((res) => sendJson(res, 500, { error: { code: 'CRASH', message: 'at /srv' } }));
    const error = await rejection(
      client({ baseUrl: upstream.url, retries: 3 }).call('upscale', {}, { idempotent: true }),
    );

    expect(upstream.hits).toHaveLength(4);
    expect(error.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'UPSTREAM_ERROR', status: 500 });
    expect(error.message).toBe('The superres upstream failed (HTTP 500)');
  });

  it('retries a refused connection, and recovers once the upstream is listening', async () => {
    const port = await freePort();
    let upstream: Awaited<ReturnType<typeof fakeUpstream>> | undefined;
    const superres = new UpstreamClient(
      { service: 'superres', baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 1000, retries: 2 },
      { sleep: async () => void (upstream ??= await fakeUpstream((res) => sendJson(res, 200, 'up'), port)) },
    );
    tracked(superres);

    await expect(superres.call('upscale', {}, { idempotent: true })).resolves.toBe('up');
    expect(upstream?.hits).toHaveLength(1);
  });

  it('answers UPSTREAM_ERROR without naming the address when the upstream stays unreachable', async () => {
    const port = await freePort();
    const error = await rejection(
      client({ baseUrl: `http://127.0.0.1:${port}`, retries: 1 }).call('upscale', {}, { idempotent: true }),
    );
    expect(error.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'UPSTREAM_ERROR' });
    expect(error.message).toBe('The superres upstream could not be reached');
    expect(error.message).not.toContain('127.0.0.1');
  });

  it('aborts the in-flight request when the caller cancels: the upstream sees the connection close', async () => {
    let upstreamSawClose = () => {};
    const closed = new Promise<void>((resolve) => (upstreamSawClose = resolve));
    const upstream = await fakeUpstream((res) => res.on('close', () => upstreamSawClose()));
    const superres = client({ baseUrl: upstream.url, timeoutMs: 5000 });
    const controller = new AbortController();

    const call = superres.call('upscale', {}, { idempotent: true, signal: controller.signal });
    await until(() => upstream.hits.length === 1);
    const started = performance.now();
    controller.abort();
    const error = await rejection(call);

    expect(error.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'CANCELLED' });
    expect(performance.now() - started).toBeLessThan(500);
    await closed;
    expect(superres.status().consecutiveFailures).toBe(0);

    const alreadyAborted = await rejection(
      superres.call('upscale', {}, { idempotent: true, signal: controller.signal }),
    );
    expect(alreadyAborted.extensions).toMatchObject({ reason: 'CANCELLED' });
    expect(upstream.hits).toHaveLength(1);
  });

  it('refuses a response over maxResponseBytes, and one that is not JSON, as BAD_RESPONSE', async () => {
    const big = JSON.stringify('x'.repeat(5000));
    const upstream = await fakeUpstream((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(big.slice(0, 2000)); // chunked: no Content-Length to refuse it early
      res.end(big.slice(2000));
    });
    const superres = client({ baseUrl: upstream.url, maxResponseBytes: 1024 });
    const tooLarge = await rejection(superres.call('upscale', {}, { idempotent: true }));
    expect(tooLarge.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'BAD_RESPONSE' });
    expect(tooLarge.message).toMatch(/larger than 1024 bytes/);

    upstream.handler = (res) => res.writeHead(200, { 'content-length': '5000' }).end('x'.repeat(5000));
    const declared = await rejection(superres.call('upscale', {}, { idempotent: true }));
    expect(declared.extensions).toMatchObject({ reason: 'BAD_RESPONSE' });

    upstream.handler = (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>proxy error</html>');
    const notJson = await rejection(superres.call('upscale', {}, { idempotent: true }));
    expect(notJson.extensions).toMatchObject({ reason: 'BAD_RESPONSE' });
    expect(upstream.hits).toHaveLength(3); // never retried
  });

  it('refuses calls after close()', async () => {
    const upstream = await fakeUpstream((res) => sendJson(res, 200, {}));
    const superres = client({ baseUrl: upstream.url });
    await superres.close();
    const error = await rejection(superres.call('upscale', {}, { idempotent: true }));
    expect(error.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'CLOSED' });
  });
});

describe('UpstreamClient tracing', () => {
  const exporter = new InMemorySpanExporter();
  /** Writes the W3C traceparent of the context's span (the SDK's propagator lives in a package not depended on). */
  const traceparent: TextMapPropagator = {
    inject(context, carrier, setter) {
      const span = trace.getSpanContext(context);
      if (span) setter.set(carrier, 'traceparent', `00-${span.traceId}-${span.spanId}-0${span.traceFlags}`);
    },
    extract: (context) => context,
    fields: () => ['traceparent'],
  };

  beforeAll(() => {
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    propagation.setGlobalPropagator(traceparent);
  });
  afterAll(() => {
    trace.disable();
    propagation.disable();
  });

  it('wraps each call in a span and propagates its traceparent to the upstream', async () => {
    let failuresLeft = 1;
    const upstream = await fakeUpstream((res) => (failuresLeft-- > 0 ? sendJson(res, 502, {}) : sendJson(res, 200, 7)));
    const superres = client({ baseUrl: upstream.url });

    await superres.call('upscale', {}, { idempotent: true });
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe('upstream superres.upscale');
    expect(span?.attributes).toMatchObject({
      'g3d.service': 'superres',
      'g3d.operation': 'upscale',
      'http.response.status_code': 200,
      'g3d.attempts': 2,
    });
    expect(span?.status.code).not.toBe(SpanStatusCode.ERROR);
    const { traceId, spanId } = span?.spanContext() ?? {};
    expect(upstream.hits[1]?.headers.traceparent).toBe(`00-${traceId}-${spanId}-01`);

    exporter.reset();
    upstream.handler = (res) => sendJson(res, 500, {});
    await rejection(superres.call('upscale', {}, { idempotent: false }));
    const [failed] = exporter.getFinishedSpans();
    expect(failed?.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'UPSTREAM_ERROR' });
    expect(failed?.attributes).toMatchObject({ 'http.response.status_code': 500, 'g3d.attempts': 1 });
  });
});
