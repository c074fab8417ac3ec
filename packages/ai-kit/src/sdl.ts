// What every wrapper's schema shares: the service description with its live status, the job types of its
// asynchronous operations, and the binary input. Written by the kit for all 16 so they stay identical (the
// shared types are @shareable: every wrapper defines them the same way).
import { aiFieldName, type AiServiceFacts, aiTypeName } from '@g3d/manifest';

export function commonSdl(service: AiServiceFacts, options: { jobResultType: string | null }): string {
  const field = aiFieldName(service.slug);
  const type = aiTypeName(service.slug);
  const jobs = options.jobResultType
    ? `
"A ${service.name} operation running in the background: poll it with ${field}Job(id)."
type ${type}Job {
  id: ID!
  "The operation that was started (a mutation of ${field})."
  operation: String!
  status: AiJobStatus!
  "From 0 to 1."
  progress: Float!
  "Set once the job SUCCEEDED."
  result: ${options.jobResultType}
  "Set once the job FAILED (or was CANCELLED)."
  error: AiJobError
  "How many times a runner started it (a runner that stopped mid-way hands it to another)."
  attempts: Int!
  createdAt: DateTime!
  startedAt: DateTime
  finishedAt: DateTime
}

extend type Query {
  "A job of ${service.name} started in the caller's current organization (requires ${service.scope}:read)."
  ${field}Job(id: ID!): ${type}Job
}

extend type Mutation {
  "Cancels a job: a queued job at once, a running one within a second (its upstream call is aborted). Requires ${service.scope}:write."
  cancel${type}Job(id: ID!): ${type}Job!
}
`
    : '';
  return `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@shareable"])

scalar DateTime

"An AI service fronted by the platform."
type AiService @shareable {
  slug: String!
  name: String!
  domain: String!
  "Requests per caller per 15 minutes (before plan overrides)."
  rateLimitPer15Min: Int!
  "How long the upstream may take for one call."
  timeoutMs: Int!
  readScope: String!
  writeScope: String!
  "What the service meters besides requests (tokens, images, …), or null."
  meteredUnit: String
  "The operations this wrapper offers (its mutations)."
  operations: [String!]!
  "The upstream's health, the circuit breaker and recent latency, as this replica sees them."
  serviceStatus: AiServiceStatus!
}

type AiServiceStatus @shareable {
  health: AiUpstreamHealth!
  circuit: AiCircuitState!
  consecutiveFailures: Int!
  "Latency of upstream calls over the last windowSeconds; null before the first call."
  p50Ms: Float
  p99Ms: Float
  sampleCount: Int!
  windowSeconds: Int!
  checkedAt: DateTime!
}

enum AiUpstreamHealth {
  HEALTHY
  UNHEALTHY
  UNREACHABLE
}

enum AiCircuitState {
  "Calls go to the upstream."
  CLOSED
  "Too many consecutive failures: calls fail at once until the cool-down ends."
  OPEN
  "After the cool-down: one trial call decides."
  HALF_OPEN
}

enum AiJobStatus {
  QUEUED
  RUNNING
  SUCCEEDED
  FAILED
  CANCELLED
}

type AiJobError @shareable {
  code: String!
  message: String!
}

"A binary input (an image, a document): exactly one of base64 or url (http/https, public addresses only)."
input AiBinaryInput {
  base64: String
  url: String
}

type Query {
  "${service.name}: ${service.domain} (requires ${service.scope}:read)."
  ${field}: AiService!
}
${jobs}`;
}
