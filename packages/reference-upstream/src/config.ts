// The reference upstream's settings when it runs alone (`npm start -w @g3d/reference-upstream`, or its container).
import { parseConfig, port, z } from '@g3d/config';

export const referenceUpstreamConfig = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  REFERENCE_UPSTREAM_PORT: port(4200),
});

export const loadReferenceUpstreamConfig = () => parseConfig(referenceUpstreamConfig);
