// The AI invocation path: secure-ai's scanContent called on the reference upstream directly (`upstream-direct`,
// the floor) and through the gateway and the wrapper (`ai-invocation`: authentication, the entitlement decision
// in the store, the upstream call, the usage record committed to the event log before answering). Printed as
// ai-invocation / upstream-direct: what the platform's path costs on top of the model server.
import type { BenchPlatform } from '../platform.ts';
import type { Scenario } from '../scenario.ts';
import { expectGraphQLData, measureHttp } from './http.ts';

const TEXT = 'Deploy with key AKIAIOSFODNN7EXAMPLE; contact ops@example.com. Card 4111 1111 1111 1111.';

function expectScan(value: unknown, text: string) {
  const scan = value as { riskLevel?: unknown } | undefined;
  if (typeof scan?.riskLevel !== 'string') throw new Error(`not a scan: ${text.slice(0, 300)}`);
}

export const upstreamDirect: Scenario = {
  name: 'upstream-direct',
  title: 'reference upstream direct: POST /secure-ai/v1/scanContent',
  needsPlatform: true,
  async run(ctx) {
    const platform = await ctx.platform();
    return measureHttp(ctx, {
      url: `${platform.referenceUpstreamUrl}/secure-ai/v1/scanContent`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: TEXT }),
      kind: 'exact',
      validate: (status, text) => {
        if (status !== 200) throw new Error(`HTTP ${status}: ${text.slice(0, 300)}`);
        expectScan(JSON.parse(text), text);
      },
    });
  },
};

export const aiInvocation: Scenario = {
  name: 'ai-invocation',
  title: 'through the gateway and the secure-ai wrapper: mutation { scanContent }',
  relativeTo: 'upstream-direct',
  needsPlatform: true,
  async run(ctx) {
    const platform: BenchPlatform = await ctx.platform();
    await platform.openAiServices();
    return measureHttp(ctx, {
      url: platform.gatewayUrl,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${platform.accessToken}` },
      body: JSON.stringify({
        query: 'mutation($t: String!) { scanContent(input: { text: $t }) { riskLevel } }',
        variables: { t: TEXT },
      }),
      kind: 'graphql',
      // The response's extensions carry the remaining quota: different every time.
      expectField: ['scanContent', 'riskLevel'],
      validate: (status, text) =>
        expectScan((expectGraphQLData(status, text) as { scanContent?: unknown }).scanContent, text),
    });
  },
};
