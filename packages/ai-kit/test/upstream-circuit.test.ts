// UpstreamClient's circuit breaker, status() and health() against a local HTTP server, on an injected clock
// (no test waits out a cool-down or a cache period); and the latency window on its own.
import { afterEach, describe, expect, it } from 'vitest';

import { LatencyWindow, UpstreamClient, type UpstreamSettings } from '../src/upstream/index.ts';
import { closeAll, fakeUpstream, rejection, sendJson, tracked, until } from './fixtures/fake-upstream.ts';

let clock = 1_700_000_000_000;
const now = () => clock;

function client(settings: Partial<UpstreamSettings> & { baseUrl: string }) {
  const created = new UpstreamClient(
    { service: 'superres', timeoutMs: 1000, retries: 2, ...settings },
    { now, sleep: async () => {} },
  );
  return tracked(created);
}

afterEach(closeAll);

describe('UpstreamClient circuit breaker', () => {
  it('opens after 5 failed calls (not attempts) and then fails fast without touching the upstream', async () => {
    const upstream = await fakeUpstream((res) => sendJson(res, 500, {}));
    const superres = client({ baseUrl: upstream.url, retries: 1 });

    for (let call = 1; call <= 5; call++) {
      const error = await rejection(superres.call('upscale', {}, { idempotent: true }));
      expect(error.extensions).toMatchObject({ reason: 'UPSTREAM_ERROR' });
      expect(superres.status().circuit).toBe(call < 5 ? 'closed' : 'open');
    }
    expect(upstream.hits).toHaveLength(10); // 1 + 1 retry per call
    expect(superres.status()).toMatchObject({ circuit: 'open', consecutiveFailures: 5, openedAt: new Date(clock) });

    const fast = await rejection(superres.call('upscale', {}, { idempotent: true }));
    expect(fast.extensions).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      service: 'superres',
      reason: 'CIRCUIT_OPEN',
      retryAfterSeconds: 30,
    });
    clock += 10_000;
    const later = await rejection(superres.call('upscale', {}, { idempotent: true }));
    expect(later.extensions).toMatchObject({ reason: 'CIRCUIT_OPEN', retryAfterSeconds: 20 });
    expect(upstream.hits).toHaveLength(10);
  });

  it('lets one trial call through after the cool-down; others fail fast meanwhile; success closes it', async () => {
    const upstream = await fakeUpstream((res) => sendJson(res, 503, {}));
    const superres = client({ baseUrl: upstream.url, circuit: { failureThreshold: 2, coolDownMs: 5000 } });
    for (let call = 0; call < 2; call++) await rejection(superres.call('upscale', {}, { idempotent: false }));
    expect(superres.status().circuit).toBe('open');

    let answerTrial = () => {};
    upstream.handler = (res) => (answerTrial = () => sendJson(res, 200, 'recovered'));
    clock += 5001;
    const trial = superres.call('upscale', {}, { idempotent: false });
    await until(() => upstream.hits.length === 3);
    expect(superres.status().circuit).toBe('half-open');
    const concurrent = await rejection(superres.call('upscale', {}, { idempotent: false }));
    expect(concurrent.extensions).toMatchObject({ reason: 'CIRCUIT_OPEN' });

    answerTrial();
    await expect(trial).resolves.toBe('recovered');
    expect(superres.status()).toMatchObject({ circuit: 'closed', consecutiveFailures: 0, openedAt: null });
    expect(upstream.hits).toHaveLength(3);
  });

  it('re-opens for another cool-down when the trial call fails', async () => {
    const upstream = await fakeUpstream((res) => sendJson(res, 502, {}));
    const superres = client({ baseUrl: upstream.url, circuit: { failureThreshold: 1, coolDownMs: 5000 } });
    await rejection(superres.call('upscale', {}, { idempotent: false }));
    expect(superres.status().circuit).toBe('open');

    clock += 5001;
    const trial = await rejection(superres.call('upscale', {}, { idempotent: false }));
    expect(trial.extensions).toMatchObject({ reason: 'UPSTREAM_ERROR', status: 502 });
    expect(superres.status()).toMatchObject({ circuit: 'open', openedAt: new Date(clock), consecutiveFailures: 2 });

    const fast = await rejection(superres.call('upscale', {}, { idempotent: false }));
    expect(fast.extensions).toMatchObject({ reason: 'CIRCUIT_OPEN', retryAfterSeconds: 5 });
    expect(upstream.hits).toHaveLength(2);
  });

  it('does not count 4xx refusals as failures: an answering upstream is healthy', async () => {
    const upstream = await fakeUpstream((res) =>
      sendJson(res, 400, { error: { code: 'INVALID_INPUT', message: 'no' } }),
    );
    const superres = client({ baseUrl: upstream.url, circuit: { failureThreshold: 2 } });
    for (let call = 0; call < 4; call++) {
      const error = await rejection(superres.call('upscale', {}, { idempotent: true }));
      expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    }
    expect(superres.status()).toMatchObject({ circuit: 'closed', consecutiveFailures: 0 });
  });
});

describe('UpstreamClient.status latency', () => {
  it('reports p50/p99 of call latencies over the last 5 minutes', async () => {
    let nextLatencyMs = 0;
    // The handler moves the injected clock on by a known amount: the measured latency is exactly that.
    const upstream = await fakeUpstream((res) => {
      clock += nextLatencyMs;
      sendJson(res, nextLatencyMs === 100 ? 500 : 200, {});
    });
    const superres = client({ baseUrl: upstream.url, retries: 0 });
    expect(superres.status().latency).toEqual({ p50Ms: null, p99Ms: null, count: 0, windowSeconds: 300 });

    for (nextLatencyMs = 5; nextLatencyMs <= 100; nextLatencyMs += 5) {
      await superres.call('upscale', {}, { idempotent: true }).catch(() => {}); // the 100 ms call fails: it counts too
    }
    // Nearest rank over 20 samples: p50 is the 10th (50 ms), p99 the 20th (100 ms).
    expect(superres.status().latency).toEqual({ p50Ms: 50, p99Ms: 100, count: 20, windowSeconds: 300 });

    clock += 5 * 60_000 + 10_000;
    expect(superres.status().latency).toEqual({ p50Ms: null, p99Ms: null, count: 0, windowSeconds: 300 });
  });

  it('keeps bounded memory: quantiles over the newest samples, counts exact', () => {
    const window = new LatencyWindow(300_000, 100);
    const start = 1_000_000_000;
    for (let i = 0; i < 1000; i++) window.record(i < 900 ? 1000 : 5, start + i);
    expect(window.snapshot(start + 1000)).toEqual({ p50Ms: 5, p99Ms: 5, count: 1000, windowSeconds: 300 });
  });
});

describe('UpstreamClient.health', () => {
  it('probes GET {baseUrl}/health once for concurrent callers and caches the result for 30 s', async () => {
    const upstream = await fakeUpstream((res) => sendJson(res, 200, { status: 'ok' }));
    const superres = client({ baseUrl: `${upstream.url}/superres` });

    const results = await Promise.all([superres.health(), superres.health(), superres.health()]);
    expect(results.map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
    expect(results[0]?.checkedAt).toEqual(new Date(clock));
    expect(upstream.hits.map((hit) => hit.url)).toEqual(['/superres/health']);

    clock += 29_000;
    await expect(superres.health()).resolves.toMatchObject({ status: 'ok' });
    expect(upstream.hits).toHaveLength(1);

    upstream.handler = (res) => sendJson(res, 500, { status: 'degraded' });
    clock += 1_001;
    await expect(superres.health()).resolves.toMatchObject({ status: 'unhealthy' });
    expect(upstream.hits).toHaveLength(2);
  });

  it('reports an upstream that does not answer within healthTimeoutMs as unreachable', async () => {
    const upstream = await fakeUpstream(() => {}); // never answers
    const superres = client({ baseUrl: upstream.url, healthTimeoutMs: 100, healthPath: '/ready' });

    const started = performance.now();
    await expect(superres.health()).resolves.toMatchObject({ status: 'unreachable' });
    expect(performance.now() - started).toBeLessThan(100 + 700);
    expect(upstream.hits.map((hit) => hit.url)).toEqual(['/ready']);
    expect(superres.status().circuit).toBe('closed');
  });
});
