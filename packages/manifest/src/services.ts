// The service manifest: every service of the platform, declared once. The launcher (all-in-one and
// single-service mode), composition, the database schema lists, the ESLint boundary map, docker-compose.yml
// and the README's service table all read this list; tests fail when one of them disagrees.
//
// A service's code (its config slice and how it is built) lives in its package, which exports `service`
// (packages/kit `defineService`); `package` says where the launcher finds it.
import { AI_SERVICES, type AiServiceFacts, aiServiceName } from './ai-services.ts';
import { type EventTopic } from './events.ts';

export type ServiceKind = 'gateway' | 'platform' | 'ai';

/** Which key files a service's container mounts (keygen writes one bundle per kind). */
export type KeyBundle = 'gateway' | 'identity' | 'subgraph';

export interface ServiceDeclaration {
  name: string;
  kind: ServiceKind;
  /** The workspace package that exports its `service` definition. */
  package: string;
  /** Its folder in the repository (ESLint boundaries). */
  folder: string;
  /** Default port; overridden by `<NAME>_PORT` (see portSetting). */
  defaultPort: number;
  /** The PostgreSQL schema it owns (one per subgraph), or null when it keeps no tables. */
  database: string | null;
  /**
   * Writes platform events without owning a schema (the AI wrappers record every invocation's usage in the event
   * log): it needs a database connection all the same.
   */
  eventLog: boolean;
  /**
   * Services it calls directly (service-to-service /internal routes, a JWKS): running alone, it needs their URLs
   * in SUBGRAPH_URLS.
   */
  calls: readonly string[];
  /**
   * Services it asks through the shared store instead (entitlement writes an organization's record when a reader
   * asks on the refresh channel): they must run somewhere, but it needs no URL of theirs.
   */
  asks: readonly string[];
  /** Services whose service tokens its /internal routes accept. */
  trusts: readonly string[];
  /** Platform events it publishes and consumes (packages/events; payloads in packages/contracts). */
  publishes: readonly EventTopic[];
  consumes: readonly EventTopic[];
  keyBundle: KeyBundle;
  /** AI wrappers: the registry entry. */
  ai?: AiServiceFacts;
}

const service = (
  declaration: Pick<ServiceDeclaration, 'name' | 'kind' | 'package' | 'folder' | 'defaultPort'> &
    Partial<ServiceDeclaration>,
): ServiceDeclaration => ({
  database: null,
  eventLog: false,
  calls: [],
  asks: [],
  trusts: [],
  publishes: [],
  consumes: [],
  keyBundle: 'subgraph',
  ...declaration,
});

export const GATEWAY = service({
  name: 'gateway',
  kind: 'gateway',
  package: '@g3d/gateway',
  folder: 'gateway',
  defaultPort: 4000,
  // Access tokens are checked against identity's JWKS, API keys with identity's /internal route.
  calls: ['identity'],
  keyBundle: 'gateway',
});

/** The subgraphs composed into the supergraph, in start order. */
export const SUBGRAPHS: readonly ServiceDeclaration[] = [
  service({
    name: 'identity',
    kind: 'platform',
    package: '@g3d/identity',
    folder: 'subgraphs/identity',
    defaultPort: 4001,
    database: 'identity',
    // Asks organization for a user's memberships when it issues tokens.
    calls: ['organization'],
    publishes: ['identity.user-erased'],
    keyBundle: 'identity',
  }),
  service({
    name: 'organization',
    kind: 'platform',
    package: '@g3d/organization',
    folder: 'subgraphs/organization',
    defaultPort: 4002,
    database: 'organization',
    // Verifies identity's service tokens (identity asks it for memberships) with identity's JWKS.
    trusts: ['identity'],
    // Invitations count against the plan's seats: entitlement's record of the organization.
    asks: ['entitlement'],
    publishes: ['organization.membership-changed'],
    consumes: ['identity.user-erased'],
  }),
  service({
    name: 'entitlement',
    kind: 'platform',
    package: '@g3d/entitlement',
    folder: 'subgraphs/entitlement',
    defaultPort: 4003,
    database: 'entitlement',
    // usage-recorded is written by the entitlement decision library (packages/entitlement-client) in the processes
    // of the AI wrappers, on entitlement's behalf: one topic, one owner.
    publishes: [
      'entitlement.usage-recorded',
      'entitlement.quota-threshold-reached',
      'entitlement.subscription-changed',
    ],
    consumes: ['entitlement.usage-recorded'],
  }),
  service({
    name: 'telemetry',
    kind: 'platform',
    package: '@g3d/telemetry',
    folder: 'subgraphs/telemetry',
    defaultPort: 4004,
  }),
  ...AI_SERVICES.map((facts) =>
    service({
      name: aiServiceName(facts.slug),
      kind: 'ai',
      package: '@g3d/ai-services',
      folder: 'subgraphs/ai',
      defaultPort: facts.defaultPort,
      // Every invocation's usage goes to the event log before the answer (packages/entitlement-client), decided
      // on entitlement's record of the organization.
      eventLog: true,
      asks: ['entitlement'],
      ai: facts,
    }),
  ),
];

/** The gateway and every subgraph. */
export const SERVICES: readonly ServiceDeclaration[] = [...SUBGRAPHS, GATEWAY];

/**
 * PostgreSQL schemas owned by shared libraries rather than one subgraph: the mail outbox, the event log, idempotency
 * keys, the AI wrappers' jobs.
 */
export const LIBRARY_SCHEMAS = ['mail', 'events', 'platform', 'ai'] as const;

/** Every PostgreSQL schema of the platform (prisma/schema/schema.prisma lists the same, checked by a test). */
export const DATABASE_SCHEMAS: readonly string[] = [
  ...SUBGRAPHS.flatMap((s) => (s.database ? [s.database] : [])),
  ...LIBRARY_SCHEMAS,
];

/** One-shot jobs the launcher runs besides the services. */
export const JOBS = ['migrate', 'keygen'] as const;

export function findService(name: string): ServiceDeclaration | undefined {
  return SERVICES.find((s) => s.name === name);
}

/** The setting that overrides a service's port: `identity` → `IDENTITY_PORT`, `ai-vision-pro` → `AI_VISION_PRO_PORT`. */
export function portSetting(name: string): string {
  return `${name.toUpperCase().replace(/-/g, '_')}_PORT`;
}

/** Whether a service connects to the database: it owns a schema, or writes platform events. */
export function usesDatabase(service: ServiceDeclaration): boolean {
  return service.database !== null || service.eventLog;
}

/** The services that consume an event topic (its consumer groups). */
export function consumersOf(topic: EventTopic): string[] {
  return SUBGRAPHS.filter((s) => s.consumes.includes(topic)).map((s) => s.name);
}
