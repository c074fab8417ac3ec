// The AI wrappers' service definition: one package builds any of the 16 from its manifest entry and its
// wrapper (a folder in subgraphs/ai/src/services), or describes the service only while it has no operations.
import type { ApolloServerPlugin } from '@apollo/server';
import { createSubgraph, defineService, subgraphDeps } from '@g3d/kit';
import type { AiServiceFacts, ServiceDeclaration } from '@g3d/manifest';

import { aiConfig, upstreamSettings } from './config.ts';
import { type AiContext, AiRuntime } from './runtime.ts';
import { describedOnly, type WrapperDefinition, wrapperModule } from './wrapper.ts';

function facts(declaration: ServiceDeclaration): AiServiceFacts {
  if (!declaration.ai) throw new Error(`${declaration.name} is not an AI service`);
  return declaration.ai;
}

/** Base64 makes 3 bytes 4; the rest of the request (query, other variables) gets 1 MiB. */
export const bodyLimitFor = (maxInputBytes: number) => Math.ceil((maxInputBytes * 4) / 3) + 1024 * 1024;

export function wrapperService(wrappers: Readonly<Record<string, WrapperDefinition>>) {
  const wrapperOf = (service: AiServiceFacts) =>
    wrappers[service.slug] ?? describedOnly(service.slug as WrapperDefinition['slug']);
  return defineService({
    config: aiConfig,
    schema: (declaration) => ({
      name: declaration.name,
      modules: [wrapperModule(facts(declaration), wrapperOf(facts(declaration)))],
    }),
    build(context) {
      const service = facts(context.declaration);
      const wrapper = wrapperOf(service);
      const upstream = upstreamSettings(context.config, service);
      if (!upstream.url) {
        throw new Error(
          `${context.declaration.name} needs its upstream: set AI_UPSTREAM_BASE_URL or the service's own upstream URL setting`,
        );
      }
      const runtime = new AiRuntime({
        service,
        wrapper,
        upstream: { ...upstream, url: upstream.url },
        store: context.store,
        // The database for the event log (usage records) and the job table (library schema `ai`).
        db: context.database(),
        logger: context.logger.child({ service: context.declaration.name }),
        maxInputBytes: context.config.AI_MAX_INPUT_BYTES,
        allowHosts: context.config.AI_URL_ALLOW_HOSTS,
        jobConcurrency: context.config.AI_JOB_CONCURRENCY,
        circuit: {
          failureThreshold: context.config.AI_CIRCUIT_FAILURES,
          coolDownMs: context.config.AI_CIRCUIT_COOLDOWN_SECONDS * 1000,
        },
      });
      return createSubgraph<AiContext>(
        {
          name: context.declaration.name,
          modules: [wrapperModule(service, wrapper)],
          createContext: (base) => ({ ...base, gate: runtime.gate, entitlements: new Map(), runtime }),
          plugins: [entitlementExtensions()],
          background: [{ name: 'ai-runtime', start: () => runtime.start(), stop: () => runtime.stop() }],
          informationalChecks: () => runtime.readiness(),
          maxBodyBytes: bodyLimitFor(context.config.AI_MAX_INPUT_BYTES),
        },
        subgraphDeps(context, { database: true }),
      );
    },
  });
}

/** Adds what the decisions reported to the response: `extensions.entitlements[service]`. */
export function entitlementExtensions(): ApolloServerPlugin<AiContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== 'single' || contextValue.entitlements.size === 0) return;
          const result = response.body.singleResult;
          const reported = Object.fromEntries(
            [...contextValue.entitlements].map(([service, { rateLimit, requests, units, apiCalls }]) => [
              service,
              { rateLimit, requests, units, apiCalls },
            ]),
          );
          result.extensions = { ...result.extensions, entitlements: reported };
        },
      };
    },
  };
}
