// The first four AI services through the gateway, as a member whose organization's plan includes them and
// whose roles grant their scopes: real work by the reference upstream on fixtures with known answers (an image
// with known blobs, code with known complexity, a CSV with known statistics, text with planted secrets). Then
// the refusals (scope, plan, rate limit, quota — each metered), SSRF through input URLs, and hostile inputs.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import {
  CODE_MODULE_SAMPLE,
  dicomWithBlobs,
  knownCsv,
  pngBomb,
  pngWithBlobs,
  SCAN_INVALID_VALUES,
  SCAN_PLANTED,
} from '@g3d/reference-upstream/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { assignPlan, gql, login, startTestPlatform, type TestPlatform, usageConsumed } from './helpers.ts';

let platform: TestPlatform;
let token: string;
let organizationId: string;
let files: http.Server;
let filesUrl: string;

const IMAGE_ANALYSIS = `format width height bitDepth modality window { center width }
  statistics { min max mean stddev median } histogram { bins min max counts } threshold
  findings { id boundingBox { x y width height } area meanIntensity centroid { x y } } findingCount`;

const PROFILE = `rowCount columnCount delimiter warnings correlations { a b pearson }
  columns { name index type nullCount distinctCount
    numeric { min max mean stddev sum quantiles { p05 p25 p50 p75 p95 } histogram { bins min max counts }
      outliers { count lowerFence upperFence examples } }
    text { minLength maxLength topValues { value count } } }`;

beforeAll(async () => {
  // A file server on loopback: the SSRF tests name it (refused), and a redirect from an allow-listed name to it.
  files = http.createServer((req, res) => {
    if (req.url === '/redirect-to-metadata') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      return;
    }
    if (req.url === '/redirect-to-loopback') {
      res.writeHead(302, { location: `http://127.0.0.1:${(files.address() as AddressInfo).port}/image.png` }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'image/png' }).end(pngWithBlobs().bytes);
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  filesUrl = `http://localhost:${(files.address() as AddressInfo).port}`;
  // `localhost` is allow-listed (as an operator would allow an internal file server); 127.0.0.1 itself is not.
  platform = await startTestPlatform({ AI_URL_ALLOW_HOSTS: 'localhost' }, { eventPollIntervalMs: 50 });
  token = await login(platform.gatewayUrl);
  const me = await gql<{ me: { organizations: { id: string }[] } }>(
    platform.gatewayUrl,
    '{ me { organizations { id } } }',
    {
      token,
    },
  );
  organizationId = me.data?.me.organizations[0]?.id as string;
  await assignPlan(platform.gatewayUrl, organizationId, 'professional');
}, 180_000);

afterAll(async () => {
  await platform?.close();
  await new Promise((resolve) => files?.close(resolve));
});

const call = <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, as = token) =>
  gql<T>(platform.gatewayUrl, query, { token: as, variables });

const firstError = (result: { errors?: { extensions?: Record<string, unknown> }[] }) => result.errors?.[0]?.extensions;

async function waitForJob(id: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 300; i += 1) {
    const result = await call<{ dataForgeJob: Record<string, unknown> | null }>(
      `query($id: ID!) { dataForgeJob(id: $id) { id status progress attempts error { code message } result { ${PROFILE} } } }`,
      { id },
    );
    const job = result.data?.dataForgeJob;
    if (job && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(job.status as string)) return job;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`job ${id} did not finish`);
}

describe('the first four AI services, with known answers', () => {
  it('vision-pro analyzes a PNG and a 16-bit DICOM: statistics, histogram, Otsu threshold, findings', async () => {
    for (const fixture of [pngWithBlobs(), dicomWithBlobs()]) {
      const result = await call<{ analyzeImage: unknown }>(
        `mutation($image: String!) { analyzeImage(input: { image: { base64: $image } }) { ${IMAGE_ANALYSIS} } }`,
        { image: fixture.base64 },
      );
      expect(result.errors).toBeUndefined();
      expect(result.data?.analyzeImage).toEqual(fixture.expected);
    }
  });

  it('code-forge: per-function cyclomatic complexity, Halstead, maintainability, a type error with its position; formatting', async () => {
    const analysis = await call<{ analyzeCode: unknown }>(
      `mutation($i: AnalyzeCodeInput!) { analyzeCode(input: $i) {
        lines { total code comment blank }
        functions { name line column endLine parameters lines cyclomaticComplexity }
        complexity { total average max }
        halstead { operators operands distinctOperators distinctOperands volume difficulty effort }
        maintainabilityIndex
        diagnostics { kind category code message line column endLine endColumn } } }`,
      { i: CODE_MODULE_SAMPLE.input },
    );
    expect(analysis.errors).toBeUndefined();
    expect(analysis.data?.analyzeCode).toEqual(CODE_MODULE_SAMPLE.expected);

    const formatted = await call<{ formatCode: { formatted: string; changed: boolean } }>(
      `mutation { formatCode(input: { source: "const a={b:1}", language: TYPESCRIPT }) { formatted changed } }`,
    );
    expect(formatted.data?.formatCode).toEqual({ formatted: 'const a = { b: 1 };\n', changed: true });
    const broken = await call(
      `mutation { formatCode(input: { source: "const a = (", language: TYPESCRIPT }) { formatted } }`,
    );
    expect(firstError(broken)).toMatchObject({ code: 'BAD_USER_INPUT', upstreamCode: 'SYNTAX_ERROR' });
  });

  it('data-forge profiles a CSV as a job: types, nulls, quantiles, outliers, correlations', async () => {
    const fixture = knownCsv();
    const started = await call<{ profileDataset: { id: string; status: string } }>(
      'mutation($csv: String!) { profileDataset(input: { csv: $csv }) { id status } }',
      { csv: fixture.csv },
    );
    expect(started.errors).toBeUndefined();
    expect(['QUEUED', 'RUNNING', 'SUCCEEDED']).toContain(started.data?.profileDataset.status);
    const job = await waitForJob(started.data?.profileDataset.id as string);
    expect(job).toMatchObject({ status: 'SUCCEEDED', progress: 1, error: null, attempts: 1 });
    expect(job.result).toEqual(fixture.expected);
  });

  it('secure-ai finds planted secrets, personal data and injections with exact offsets; not the invalid card or IBAN', async () => {
    const result = await call<{
      scanContent: {
        findings: {
          category: string;
          type: string;
          severity: string;
          start: number;
          end: number;
          line: number;
          column: number;
        }[];
        riskLevel: string;
      };
    }>(
      'mutation($t: String!) { scanContent(input: { text: $t }) { findings { category type severity start end line column } riskScore riskLevel } }',
      { t: SCAN_PLANTED.text },
    );
    expect(result.errors).toBeUndefined();
    const found = result.data?.scanContent.findings ?? [];
    expect(found).toEqual(SCAN_PLANTED.expected.map(({ value: _value, ...finding }) => finding));
    for (const invalid of SCAN_INVALID_VALUES) {
      const at = SCAN_PLANTED.text.indexOf(invalid);
      expect(at).toBeGreaterThan(0);
      expect(found.some((f) => f.start === at)).toBe(false);
    }
    expect(result.data?.scanContent.riskLevel).toBe('CRITICAL');
  });

  it('services: the registry for anyone; signed in, what the caller may use now and why not', async () => {
    const QUERY = '{ services { slug readScope rateLimitPer15Min meteredUnit access { allowed reason } } }';
    const anonymous = await gql<{ services: { slug: string; access: unknown }[] }>(platform.gatewayUrl, QUERY);
    expect(anonymous.data?.services).toHaveLength(16);
    expect(anonymous.data?.services.every((s) => s.access === null)).toBe(true);
    const mine = await call<{ services: { slug: string; access: { allowed: boolean } }[] }>(QUERY);
    expect(mine.data?.services.find((s) => s.slug === 'vision-pro')).toMatchObject({
      readScope: 'medical:read',
      rateLimitPer15Min: 500,
      meteredUnit: 'images',
      access: { allowed: true, reason: null },
    });
  });

  it('describes each service with its live status, without spending quota', async () => {
    const result = await call<{ visionPro: Record<string, unknown> }>(
      '{ visionPro { slug operations meteredUnit serviceStatus { health circuit sampleCount } } }',
    );
    expect(result.data?.visionPro).toMatchObject({
      slug: 'vision-pro',
      operations: ['analyzeImage'],
      meteredUnit: 'images',
      serviceStatus: { health: 'HEALTHY', circuit: 'CLOSED' },
    });
  });
});

async function ledger(): Promise<Record<string, number>> {
  await usageConsumed(platform);
  const { rows } = await platform.db!.pool.query<{ key: string; n: number }>(
    `SELECT service || ':' || status AS key, count(*)::int AS n FROM entitlement.usage_records GROUP BY 1`,
  );
  return Object.fromEntries(rows.map((r) => [r.key, r.n]));
}

const SCAN = 'mutation { scanContent(input: { text: "hello" }) { riskLevel } }';

async function setSecureAiLimits(limits: { requests?: number | null; rateLimitPer15Min?: number | null }) {
  const result = await call(
    `mutation($o: ID!, $r: Int, $rate: Int) {
      setEntitlementOverrides(organizationId: $o, input: { services: [{ service: "secure-ai", requests: $r, rateLimitPer15Min: $rate }] }) { seats }
    }`,
    { o: organizationId, r: limits.requests ?? null, rate: limits.rateLimitPer15Min ?? null },
  );
  expect(result.errors).toBeUndefined();
}

describe('refusals, each metered', () => {
  it('an API key without the scope: FORBIDDEN MISSING_SCOPE, metered, and the upstream is not called', async () => {
    const created = await call<{ createApiKey: { secret: string; apiKey: { id: string } } }>(
      'mutation { createApiKey(input: { name: "no scopes", scopes: [] }) { secret apiKey { id } } }',
    );
    const key = created.data?.createApiKey.secret as string;
    const keyId = created.data?.createApiKey.apiKey.id as string;
    const before = await ledger();
    const upstreamAnswered = async () =>
      ((await (await fetch(`${platform.referenceUpstreamUrl}/secure-ai/health`)).json()) as { answered: number })
        .answered;
    const answeredBefore = await upstreamAnswered();
    const refused = await gql(platform.gatewayUrl, SCAN, { headers: { 'x-api-key': key } });
    expect(await upstreamAnswered()).toBe(answeredBefore);
    expect(firstError(refused)).toMatchObject({ code: 'FORBIDDEN', reason: 'MISSING_SCOPE' });
    const listed = await gql<{ services: { slug: string; access: { allowed: boolean; reason: string } }[] }>(
      platform.gatewayUrl,
      '{ services { slug access { allowed reason } } }',
      { headers: { 'x-api-key': key } },
    );
    expect(listed.data?.services.find((s) => s.slug === 'secure-ai')?.access).toEqual({
      allowed: false,
      reason: 'MISSING_SCOPE',
    });
    const withScope = await call<{ createApiKey: { secret: string } }>(
      'mutation { createApiKey(input: { name: "security", scopes: ["security:write"] }) { secret } }',
    );
    const allowed = await gql<{ scanContent: unknown }>(platform.gatewayUrl, SCAN, {
      headers: { 'x-api-key': withScope.data?.createApiKey.secret as string },
    });
    expect(allowed.errors).toBeUndefined();
    // The scope is checked before the decision and the upstream call; the refusal is metered all the same.
    const after = await ledger();
    expect(after['secure-ai:FORBIDDEN']).toBe((before['secure-ai:FORBIDDEN'] ?? 0) + 1);
    expect(after['secure-ai:ALLOWED']).toBe((before['secure-ai:ALLOWED'] ?? 0) + 1);
    // Each ledger row names the key that made the call (its id, never the secret).
    const byKey = await platform.db!.pool.query<{ status: string; caller_kind: string }>(
      `SELECT status, caller_kind FROM entitlement.usage_records WHERE api_key_id = $1`,
      [keyId],
    );
    expect(byKey.rows).toEqual([{ status: 'FORBIDDEN', caller_kind: 'apiKey' }]);
  });

  it('a plan without the service: FORBIDDEN PLAN_EXCLUDES_SERVICE, distinct from a missing scope; metered', async () => {
    const created = await call<{ createOrganization: { id: string } }>(
      'mutation { createOrganization(input: { name: "Free Co", slug: "free-co-ai" }) { id } }',
    );
    const freeOrg = created.data?.createOrganization.id as string;
    const switched = await call<{ switchOrganization: { accessToken: string } }>(
      'mutation($o: ID!) { switchOrganization(organizationId: $o) { accessToken } }',
      { o: freeOrg },
    );
    const freeToken = switched.data?.switchOrganization.accessToken as string;
    const refused = await call(SCAN, {}, freeToken);
    expect(firstError(refused)).toMatchObject({ code: 'FORBIDDEN', reason: 'PLAN_EXCLUDES_SERVICE' });
    const { rows } = await waitForRows(freeOrg);
    expect(rows).toEqual([{ service: 'secure-ai', status: 'FORBIDDEN' }]);
  });

  it('over the rate limit: RATE_LIMITED with retryAfterSeconds; quota used up: QUOTA_EXCEEDED; both metered', async () => {
    await setSecureAiLimits({ rateLimitPer15Min: 0 });
    const limited = await call(SCAN);
    expect(firstError(limited)).toMatchObject({ code: 'RATE_LIMITED' });
    expect(firstError(limited)?.retryAfterSeconds).toBeGreaterThan(0);
    await setSecureAiLimits({ requests: 0 });
    const exhausted = await call(SCAN);
    expect(firstError(exhausted)).toMatchObject({ code: 'QUOTA_EXCEEDED' });
    await setSecureAiLimits({});
    const counts = await ledger();
    expect(counts['secure-ai:RATE_LIMITED']).toBeGreaterThanOrEqual(1);
    expect(counts['secure-ai:QUOTA_EXCEEDED']).toBeGreaterThanOrEqual(1);
    expect((await call(SCAN)).errors).toBeUndefined();
  });
});

async function waitForRows(org: string) {
  await ledger();
  return platform.db!.pool.query<{ service: string; status: string }>(
    'SELECT service, status FROM entitlement.usage_records WHERE organization_id = $1',
    [org],
  );
}

const BY_URL = `mutation($url: String!) { analyzeImage(input: { image: { url: $url } }) { findingCount } }`;

describe('input URLs (SSRF guard)', () => {
  it.each([
    ['loopback', 'http://127.0.0.1:9/x.png'],
    ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data/'],
    ['a private range', 'http://10.1.2.3/x.png'],
    ['another private range', 'http://192.168.0.10/x.png'],
    ['IPv6 loopback', 'http://[::1]/x.png'],
    ['a file URL', 'file:///etc/passwd'],
  ])('refuses %s', async (_what, url) => {
    const result = await call(BY_URL, { url });
    expect(firstError(result)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'url' });
  });

  it('refuses a redirect from an allowed host to the metadata address or to loopback', async () => {
    for (const path of ['/redirect-to-metadata', '/redirect-to-loopback']) {
      const result = await call(BY_URL, { url: `${filesUrl}${path}` });
      expect(firstError(result)).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'URL_NOT_ALLOWED' });
    }
  });

  it('fetches from an allow-listed host', async () => {
    const result = await call<{ analyzeImage: { findingCount: number } }>(BY_URL, { url: `${filesUrl}/image.png` });
    expect(result.errors).toBeUndefined();
    expect(result.data?.analyzeImage.findingCount).toBe(3);
  });
});

describe('hostile input', () => {
  it('1,000 aliased invocations alternating with another subgraph: refused before any runs; 10 aliases count 10', async () => {
    const answered = async () =>
      ((await (await fetch(`${platform.referenceUpstreamUrl}/secure-ai/health`)).json()) as { answered: number })
        .answered;
    const before = await answered();
    const many = Array.from({ length: 1000 }, (_, i) =>
      i % 2 ? `m${i}: me { id }` : `s${i}: scanContent(input: { text: "x" }) { riskLevel }`,
    ).join(' ');
    const refused = await call(`mutation { ${many} }`);
    expect(firstError(refused)?.code).toBe('OPERATION_LIMIT_EXCEEDED');
    expect(await answered()).toBe(before);

    // Within the limits every alias is its own invocation: decided, metered and counted against the rate limit.
    const ledgerBefore = (await ledger())['secure-ai:ALLOWED'] ?? 0;
    const ten = Array.from({ length: 10 }, (_, i) => `s${i}: scanContent(input: { text: "x" }) { riskLevel }`).join(
      ' ',
    );
    const result = await call(`mutation { ${ten} }`);
    expect(result.errors).toBeUndefined();
    expect(await answered()).toBe(before + 10);
    expect((await ledger())['secure-ai:ALLOWED']).toBe(ledgerBefore + 10);
  });

  it('an image bomb (huge declared dimensions) and a malformed DICOM: clear errors', async () => {
    const bomb = await call('mutation($i: String!) { analyzeImage(input: { image: { base64: $i } }) { width } }', {
      i: pngBomb().toString('base64'),
    });
    expect(firstError(bomb)).toMatchObject({ code: 'BAD_USER_INPUT', upstreamCode: 'IMAGE_TOO_LARGE' });
    const truncated = dicomWithBlobs().bytes.subarray(0, 600);
    const malformed = await call('mutation($i: String!) { analyzeImage(input: { image: { base64: $i } }) { width } }', {
      i: truncated.toString('base64'),
    });
    expect(firstError(malformed)).toMatchObject({ code: 'BAD_USER_INPUT', upstreamCode: 'MALFORMED_IMAGE' });
    const notBase64 = await call('mutation { analyzeImage(input: { image: { base64: "%%%" } }) { width } }');
    expect(firstError(notBase64)?.code).toBe('BAD_USER_INPUT');
    const both = await call(
      'mutation { analyzeImage(input: { image: { base64: "AA==", url: "http://x" } }) { width } }',
    );
    expect(firstError(both)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.image' });
  });

  it('a 50 MB body: 413 before it is read, and the gateway keeps answering', async () => {
    const response = await fetch(platform.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: SCAN, variables: { pad: 'x'.repeat(50 * 1024 * 1024) } }),
    });
    expect(response.status).toBe(413);
    expect((await call(SCAN)).errors).toBeUndefined();
  });

  it('binary in a CSV: refused at once (NUL bytes), or the job fails with a clear error (control characters)', async () => {
    const nul = await call('mutation($csv: String!) { profileDataset(input: { csv: $csv }) { id } }', {
      csv: `a,b\n1,\u0000\u0001\u0002\u0003\n`,
    });
    expect(firstError(nul)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.csv' });
    const started = await call<{ profileDataset: { id: string } }>(
      'mutation($csv: String!) { profileDataset(input: { csv: $csv }) { id } }',
      { csv: `a,b\n${'\u0001\u0002\u0003,\u0004\n'.repeat(50)}` },
    );
    expect(started.errors).toBeUndefined();
    const job = await waitForJob(started.data?.profileDataset.id as string);
    expect(job).toMatchObject({ status: 'FAILED', error: { code: 'BAD_USER_INPUT' } });
  });

  it('deeply nested code: a clear error, no crash', async () => {
    const source = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const result = await call(
      'mutation($s: String!) { analyzeCode(input: { source: $s, language: JAVASCRIPT }) { lines { total } } }',
      {
        s: source,
      },
    );
    expect(firstError(result)).toMatchObject({ code: 'BAD_USER_INPUT', upstreamCode: 'INPUT_TOO_COMPLEX' });
    expect((await call(SCAN)).errors).toBeUndefined();
  });
});
