// The platform's request path: a subgraph reached directly (with a gateway token, as the gateway would),
// the same query through the gateway, and a federated join through the gateway.
import type { BenchPlatform } from '../platform.ts';
import type { Scenario } from '../scenario.ts';
import { expectGraphQLData, measureHttp } from './http.ts';

export const ME_QUERY = '{ me { id email } }';
export const ME_WITH_ORGS_QUERY = '{ me { id email organizations { id name members { roles user { id email } } } } }';

function expectMe(platform: BenchPlatform, text: string, status: number) {
  const data = expectGraphQLData(status, text) as { me?: { id?: string; email?: string } | null };
  if (data.me?.id !== platform.caller.userId) throw new Error(`me is not the bench admin: ${text.slice(0, 300)}`);
  return data.me;
}

export const directSubgraph: Scenario = {
  name: 'direct-subgraph',
  title: 'identity subgraph direct: { me { id email } }',
  needsPlatform: true,
  async run(ctx) {
    const platform = await ctx.platform();
    const url = platform.subgraphUrls.identity;
    if (!url) throw new Error('no identity subgraph');
    // Gateway tokens live 60 s: mint one for this scenario, and renew it during long runs.
    return measureHttp(ctx, {
      url,
      method: 'POST',
      headers: await platform.subgraphHeaders('identity'),
      body: JSON.stringify({ query: ME_QUERY }),
      kind: 'graphql',
      validate: (status, text) => void expectMe(platform, text, status),
      refreshHeaders: () => platform.subgraphHeaders('identity'),
    });
  },
};

const gatewayHeaders = (platform: BenchPlatform) => ({
  'content-type': 'application/json',
  authorization: `Bearer ${platform.accessToken}`,
});

export const gatewayMeBare: Scenario = {
  name: 'gateway-bare',
  title: 'through a gateway without edge protections (limits, rate limit, CORS): { me { id email } }',
  relativeTo: 'direct-subgraph',
  needsPlatform: true,
  async run(ctx) {
    const platform = await ctx.platform();
    return measureHttp(ctx, {
      url: await platform.bareGatewayUrl(),
      method: 'POST',
      headers: gatewayHeaders(platform),
      body: JSON.stringify({ query: ME_QUERY }),
      kind: 'graphql',
      validate: (status, text) => void expectMe(platform, text, status),
    });
  },
};

export const gatewayMe: Scenario = {
  name: 'gateway',
  title: 'through the gateway (edge protections on): { me { id email } }',
  relativeTo: 'gateway-bare',
  needsPlatform: true,
  async run(ctx) {
    const platform = await ctx.platform();
    return measureHttp(ctx, {
      url: platform.gatewayUrl,
      method: 'POST',
      headers: gatewayHeaders(platform),
      body: JSON.stringify({ query: ME_QUERY }),
      kind: 'graphql',
      validate: (status, text) => void expectMe(platform, text, status),
    });
  },
};

function federated(name: string, title: string, relativeTo: string, bare: boolean): Scenario {
  return {
    name,
    title,
    relativeTo,
    needsPlatform: true,
    async run(ctx) {
      const platform = await ctx.platform();
      return measureFederated(ctx, platform, bare ? await platform.bareGatewayUrl() : platform.gatewayUrl);
    },
  };
}

/** The federated join needs several fetches: where the query plan and the fetch cap cost most. */
export const gatewayFederatedBare = federated(
  'federated-bare',
  'gateway without edge protections, federated join: me → organizations → members → user',
  'gateway-bare',
  true,
);
export const gatewayFederated = federated(
  'federated',
  'gateway (edge protections on), federated join: me → organizations → members → user',
  'federated-bare',
  false,
);

function measureFederated(ctx: Parameters<Scenario['run']>[0], platform: BenchPlatform, url: string) {
  return measureHttp(ctx, {
    url,
    method: 'POST',
    headers: gatewayHeaders(platform),
    body: JSON.stringify({ query: ME_WITH_ORGS_QUERY }),
    kind: 'graphql',
    validate(status, text) {
      const me = expectMe(platform, text, status) as {
        organizations?: { members?: { user?: { email?: string } }[] }[];
      };
      // The join must really cross subgraphs: organization → identity for members' emails.
      const email = me.organizations?.[0]?.members?.[0]?.user?.email;
      if (!email) throw new Error(`federated join returned no member emails: ${text.slice(0, 300)}`);
    },
  });
}
