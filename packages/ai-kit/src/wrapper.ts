// A wrapper is its registry entry, its SDL and an operation map (defineWrapper). The kit turns them into the
// subgraph's module: shield rules from the registry's scopes (read for queries, write for mutations), every
// operation decided by the organization's entitlements and metered (the invocation gate) before the upstream is
// called, job operations queued for the job runner, and the service description with its live status.
import { hasScope, isAuthenticated, isPlatformAdmin, or } from '@g3d/auth';
import { AppError } from '@g3d/errors';
import { defineModule, type ModuleRules, type SubgraphModule } from '@g3d/kit';
import { aiFieldName, type AiServiceFacts, type AiServiceSlug, aiTypeName } from '@g3d/manifest';
import { Kind, parse } from 'graphql';

import type { AiContext } from './runtime.ts';
import { commonSdl } from './sdl.ts';

/** A binary argument (AiBinaryInput): inline base64 or a URL to fetch. */
export interface BinaryArgument {
  base64?: string | null;
  url?: string | null;
}

export interface InputTools {
  /** The bytes of a binary argument as base64: inline, or fetched from its URL (SSRF-guarded, capped). */
  binary(value: BinaryArgument, field: string): Promise<string>;
}

export interface WrapperOperation {
  /** `sync`: answered directly; `job`: returns the service's Job at once, run by a replica's job runner. */
  mode: 'sync' | 'job';
  /** The upstream operation (`POST {url}/v1/{upstream}`); default: the field's name. */
  upstream?: string;
  /** The upstream body from the field's arguments (validated here; the upstream validates again). */
  input(args: Record<string, unknown>, tools: InputTools): Promise<unknown> | unknown;
  /** Units metered with the invocation (the registry's meteredUnit), known before the call; default 0. */
  units?(args: Record<string, unknown>): number;
  /** The field's value from the upstream's answer (default: the answer as is). */
  result?(answer: unknown): unknown;
  /** Safe to retry on upstream failures (default true: the operations are pure). */
  idempotent?: boolean;
}

export interface WrapperDefinition {
  slug: AiServiceSlug;
  /** The service's own SDL: `extend type Mutation { … }` and its types (named after the service). */
  typeDefs: string;
  /** The operations by mutation field name. */
  operations: Readonly<Record<string, WrapperOperation>>;
  /** The GraphQL type of job results, when the service has job operations (one result type per service). */
  jobResultType?: string;
}

export function defineWrapper(definition: WrapperDefinition): WrapperDefinition {
  return definition;
}

/** The wrapper of a service without operations yet: its description and status only. */
export function describedOnly(slug: AiServiceSlug): WrapperDefinition {
  return { slug, typeDefs: '', operations: {} };
}

/** Names of the types and root fields a service's own SDL declares (for its rules). */
function declared(sdl: string): { types: string[]; mutations: string[]; queries: string[] } {
  const result = { types: [] as string[], mutations: [] as string[], queries: [] as string[] };
  // A scaffolded SDL may hold comments only.
  if (!sdl.replace(/#.*$/gm, '').trim()) return result;
  for (const definition of parse(sdl).definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
    const name = definition.name.value;
    const fields = (definition.fields ?? []).map((f) => f.name.value);
    if (name === 'Mutation') result.mutations.push(...fields);
    else if (name === 'Query') result.queries.push(...fields);
    else result.types.push(name);
  }
  return result;
}

/** The wrapper's module: its SDL with the kit's, resolvers and rules. */
export function wrapperModule(service: AiServiceFacts, wrapper: WrapperDefinition): SubgraphModule<AiContext> {
  const read = `${service.scope}:read`;
  const write = `${service.scope}:write`;
  // One instance per rule: graphql-shield refuses two rules of the same name.
  const hasRead = hasScope(read);
  const canWrite = hasScope(write);
  const canRead = or(hasRead, isPlatformAdmin);
  const canUse = or(hasRead, canWrite, isPlatformAdmin);
  const field = aiFieldName(service.slug);
  const type = aiTypeName(service.slug);
  const own = declared(wrapper.typeDefs);
  const jobOperations = Object.entries(wrapper.operations).filter(([, op]) => op.mode === 'job');
  const jobResultType = jobOperations.length ? (wrapper.jobResultType ?? null) : null;
  if (jobOperations.length && !jobResultType) {
    throw new Error(`${service.slug}: job operations need jobResultType`);
  }
  for (const name of Object.keys(wrapper.operations)) {
    if (!own.mutations.includes(name)) throw new Error(`${service.slug}: operation ${name} is not a Mutation field`);
  }
  for (const name of own.mutations) {
    if (!wrapper.operations[name]) throw new Error(`${service.slug}: Mutation.${name} has no operation`);
  }

  const rules: ModuleRules = {
    Query: { [field]: canRead, ...(jobResultType ? { [`${field}Job`]: canRead } : {}) },
    AiService: canUse,
    AiServiceStatus: canUse,
    AiJobError: canUse,
    Mutation: {
      // Operations check their scope in the gate, so that the refusal is metered like the decision's own.
      ...Object.fromEntries(own.mutations.map((name) => [name, isAuthenticated])),
      ...(jobResultType ? { [`cancel${type}Job`]: canWrite } : {}),
    },
    ...Object.fromEntries(own.types.map((name) => [name, canUse])),
    ...(jobResultType ? { [`${type}Job`]: canUse } : {}),
  };
  if (Object.keys(rules.Mutation as object).length === 0) delete rules.Mutation;

  const describe = (ctx: AiContext) => ({
    slug: service.slug,
    name: service.name,
    domain: service.domain,
    rateLimitPer15Min: service.rateLimitPer15Min,
    timeoutMs: ctx.runtime.timeoutMs,
    readScope: read,
    writeScope: write,
    meteredUnit: service.meteredUnit,
    operations: Object.keys(wrapper.operations),
  });

  const mutations: Record<string, unknown> = {};
  for (const [name, op] of Object.entries(wrapper.operations)) {
    mutations[name] = async (_parent: unknown, args: Record<string, unknown>, ctx: AiContext) =>
      ctx.gate.invoke(
        ctx.caller,
        {
          service: service.slug,
          operation: name,
          units: op.units?.(args) ?? 0,
          idempotencyKey: ctx.idempotencyKey,
          requiredScopes: [write],
        },
        () =>
          op.mode === 'job' ? ctx.runtime.submitJob(ctx, name, op, args) : ctx.runtime.callSync(ctx, name, op, args),
        (summary) => ctx.entitlements.set(service.slug, summary),
      );
  }
  if (jobResultType) {
    mutations[`cancel${type}Job`] = async (_parent: unknown, args: { id: string }, ctx: AiContext) => {
      const job = await ctx.runtime.cancelJob(ctx, args.id);
      if (!job) throw new AppError('NOT_FOUND', 'No such job in your current organization', { field: 'id' });
      return job;
    };
  }

  // Until a service has operations, reading its description is its invocation (decided and metered), so that
  // plans, limits and metering hold end to end for all 16; a service with operations describes itself for free.
  const description = Object.keys(wrapper.operations).length
    ? (_parent: unknown, _args: unknown, ctx: AiContext) => describe(ctx)
    : (_parent: unknown, _args: unknown, ctx: AiContext) =>
        ctx.gate.invoke(
          ctx.caller,
          { service: service.slug, operation: field, idempotencyKey: ctx.idempotencyKey },
          async () => describe(ctx),
          (summary) => ctx.entitlements.set(service.slug, summary),
        );
  const resolvers: Record<string, Record<string, unknown>> = {
    Query: {
      [field]: description,
      ...(jobResultType
        ? { [`${field}Job`]: (_p: unknown, args: { id: string }, ctx: AiContext) => ctx.runtime.job(ctx, args.id) }
        : {}),
    },
    AiService: {
      serviceStatus: (_parent: unknown, _args: unknown, ctx: AiContext) => ctx.runtime.status(),
    },
  };
  if (Object.keys(mutations).length) resolvers.Mutation = mutations;
  if (jobResultType) {
    resolvers[`${type}Job`] = {
      // The stored answer is the upstream's; the field's value is the operation's mapping of it.
      result: (job: { operation: string; status: string; result: unknown }) => {
        if (job.status !== 'SUCCEEDED' || job.result == null) return null;
        const op = wrapper.operations[job.operation];
        return op?.result ? op.result(job.result) : job.result;
      },
    };
  }

  return defineModule<AiContext>({
    name: service.slug,
    typeDefs: parse(`${commonSdl(service, { jobResultType })}\n${wrapper.typeDefs}`),
    rules,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- resolver maps are untyped per field
    resolvers: resolvers as any,
  });
}
