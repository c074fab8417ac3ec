// The AI wrappers' settings: where each upstream is and the registry facts an operator may override per service,
// plus the limits of binary inputs and the job runner.
import { url, z } from '@g3d/config';
import { AI_SERVICES, type AiServiceFacts, aiSetting } from '@g3d/manifest';

const number = (min: number, max: number, unit: string) =>
  z.coerce
    .number({ error: `must be a number of ${unit} from ${min} to ${max}` })
    .min(min, `must be a number of ${unit} from ${min} to ${max}`)
    .max(max, `must be a number of ${unit} from ${min} to ${max}`);

const perService = Object.fromEntries(
  AI_SERVICES.flatMap((s) => [
    [aiSetting(s.slug, 'UPSTREAM_URL'), url(['http:', 'https:']).optional()],
    [aiSetting(s.slug, 'TIMEOUT_SECONDS'), number(0.1, 3600, 'seconds').optional()],
    [aiSetting(s.slug, 'RETRIES'), number(0, 10, 'retries').int('must be a whole number').optional()],
  ]),
) as Record<string, z.ZodOptional<z.ZodType<string | number>>>;

export const aiConfig = z.object({
  /**
   * Base URL of the upstreams: service `vision-pro` at `<base>/vision-pro` (per-service AI_<SLUG>_UPSTREAM_URL
   * wins). Unset: `npm start` runs the reference upstream and uses it.
   */
  AI_UPSTREAM_BASE_URL: url(['http:', 'https:']).optional(),
  /** Largest binary input (an image, a document) after decoding, in bytes. */
  AI_MAX_INPUT_BYTES: number(1024, 256 * 1024 * 1024, 'bytes')
    .int('must be a whole number of bytes')
    .default(8 * 1024 * 1024),
  /** Hosts that input URLs may name although they resolve to private addresses (comma separated). */
  AI_URL_ALLOW_HOSTS: z
    .string()
    .optional()
    .transform((value) =>
      (value ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    ),
  /** Consecutive failed upstream calls that open a wrapper's circuit (calls then fail at once). */
  AI_CIRCUIT_FAILURES: number(1, 1000, 'failures').int('must be a whole number').default(5),
  /** How long an open circuit waits before one trial call (half-open). */
  AI_CIRCUIT_COOLDOWN_SECONDS: number(0.1, 3600, 'seconds').default(30),
  /** Jobs one wrapper replica runs at once. */
  AI_JOB_CONCURRENCY: number(1, 64, 'jobs').int('must be a whole number').default(2),
  ...perService,
});

export type AiConfig = z.infer<typeof aiConfig>;

export interface UpstreamSettings {
  url: string | null;
  timeoutMs: number;
  retries: number;
}

/** A service's upstream URL, timeout and retries: its settings where given, else the registry's facts. */
export function upstreamSettings(config: Record<string, unknown>, service: AiServiceFacts): UpstreamSettings {
  const own = config[aiSetting(service.slug, 'UPSTREAM_URL')];
  const base = config.AI_UPSTREAM_BASE_URL;
  const timeout = config[aiSetting(service.slug, 'TIMEOUT_SECONDS')];
  const retries = config[aiSetting(service.slug, 'RETRIES')];
  return {
    url:
      typeof own === 'string' ? own : typeof base === 'string' ? `${base.replace(/\/+$/, '')}/${service.slug}` : null,
    timeoutMs: Math.round((typeof timeout === 'number' ? timeout : service.timeoutSeconds) * 1000),
    retries: typeof retries === 'number' ? retries : service.retries,
  };
}
