// A service's package exports one `service` definition: the settings it reads besides the common ones, its
// schema (modules), and how to build it from what the launcher provides. The service manifest
// (packages/manifest) says where the package is; the launcher, composition and the rule-coverage test all go
// through this definition, so a new subgraph is its folder plus one manifest entry.
import type { VerifyKey } from '@g3d/auth';
import type { CommonConfig, z } from '@g3d/config';
import type { Database } from '@g3d/db';
import type { ServiceDeclaration } from '@g3d/manifest';
import type { Store } from '@g3d/store';
import type { JWTVerifyGetKey } from 'jose';

import type { Logger } from './logger.ts';
import type { SubgraphDeps, SubgraphSchemaDefinition, SubgraphService } from './subgraph.ts';

/** What the launcher gives a service to build itself with. */
export interface ServiceContext<TConfig extends CommonConfig = CommonConfig> {
  declaration: ServiceDeclaration;
  /** Every setting, parsed and validated at boot: the common ones and this service's slice. */
  config: TConfig;
  logger: Logger;
  store: Store;
  /** The process's database pool (one per process, shared by the subgraphs in it). */
  database(): Database;
  /** The gateway's public key: the door checks every request against it. */
  gatewayKey: VerifyKey;
  /** Public keys of the services this one trusts (manifest `trusts`), for their service tokens. */
  trustedKeys: Record<string, JWTVerifyGetKey>;
  /** The URL of a service this one calls (manifest `calls`): started in this process or configured. */
  peerUrl(name: string): string;
  /** Every other service this process knows the URL of (health checks). */
  knownServices(): { name: string; url: string }[];
  /** True in the all-in-one process: missing development keys are created in DATA_DIR. */
  createMissingKeys: boolean;
  /** How often event consumers poll (tests shorten it). */
  eventPollIntervalMs?: number;
  /** How long in-flight requests may take to finish once the service stops. */
  shutdownGraceMs?: number;
}

export interface ServiceDefinition<TSlice extends z.ZodObject = z.ZodObject> {
  /** Settings this service reads besides the common ones (keys are the variable names, documented in README). */
  config?: TSlice;
  /** The subgraph's schema: its modules. The AI wrappers derive theirs from the manifest entry. */
  // Any context: the schema is read for composition and rule coverage, not executed with this type.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  schema(declaration: ServiceDeclaration): SubgraphSchemaDefinition<any>;
  build(context: ServiceContext<CommonConfig & z.infer<TSlice>>): Promise<SubgraphService> | SubgraphService;
}

export function defineService<TSlice extends z.ZodObject>(
  definition: ServiceDefinition<TSlice>,
): ServiceDefinition<TSlice> {
  return definition;
}

/** The kit's dependencies of a subgraph from its service context. */
export function subgraphDeps(context: ServiceContext, options: { database: boolean }): SubgraphDeps {
  return {
    logger: context.logger,
    store: context.store,
    gatewayKey: context.gatewayKey,
    trustedServices: context.trustedKeys,
    nodeEnv: context.config.NODE_ENV,
    ...(options.database ? { db: context.database() } : {}),
    ...(context.eventPollIntervalMs ? { eventPollIntervalMs: context.eventPollIntervalMs } : {}),
    ...(context.shutdownGraceMs !== undefined ? { shutdownGraceMs: context.shutdownGraceMs } : {}),
  };
}
