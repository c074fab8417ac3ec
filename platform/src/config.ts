// The platform's settings, parsed once at boot: the common ones (packages/config), the gateway's, each
// subgraph's slice (its service definition's `config`), the ports of the manifest and the first-run seed.
// README's configuration table documents every one (a test checks).
import { commonConfigSchema, type Env, parseConfig, port, z } from '@g3d/config';
import { gatewayConfig } from '@g3d/gateway';
import { portSetting, SERVICES } from '@g3d/manifest';

import { subgraphDefinitions } from './services.ts';

/** `<NAME>_PORT` of every service, defaulting to its manifest port. */
const ports = z.object(Object.fromEntries(SERVICES.map((s) => [portSetting(s.name), port(s.defaultPort)])));

const seedSettings = z.object({
  ADMIN_EMAIL: z.email('must be an email address').default('admin@g3d.local'),
  /** The first admin's password; generated and printed once when unset. */
  ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
});

const referenceUpstream = z.object({
  /** Port of the reference upstream that `npm start` runs for the AI wrappers when AI_UPSTREAM_BASE_URL is unset. */
  REFERENCE_UPSTREAM_PORT: port(4200),
});

const staticSchema = commonConfigSchema
  .extend(gatewayConfig.shape)
  .extend(seedSettings.shape)
  .extend(referenceUpstream.shape);

export type PlatformConfig = z.infer<typeof staticSchema> & Record<string, unknown>;

/** Every setting of the platform (common, gateway, seed, ports and each subgraph's slice). */
export async function platformConfigSchema(): Promise<z.ZodObject> {
  let schema: z.ZodObject = staticSchema.extend(ports.shape);
  for (const { definition } of await subgraphDefinitions()) {
    if (definition.config) schema = schema.extend(definition.config.shape);
  }
  return schema;
}

export async function loadPlatformConfig(env: Env = process.env): Promise<PlatformConfig> {
  return parseConfig(await platformConfigSchema(), env) as PlatformConfig;
}

/** The port a service listens on (its `<NAME>_PORT`). */
export function servicePort(config: PlatformConfig, name: string): number {
  return config[portSetting(name)] as number;
}

/** Every service on a free port chosen by the OS: tests and benchmarks run beside anything else. */
export const RANDOM_PORTS_ENV: Record<string, string> = {
  ...Object.fromEntries(SERVICES.map((s) => [portSetting(s.name), '0'])),
  REFERENCE_UPSTREAM_PORT: '0',
};
