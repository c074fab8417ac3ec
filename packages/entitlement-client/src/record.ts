// What a decision needs about one organization, kept in the shared store by entitlement (written after every
// change it commits, refilled from PostgreSQL when missing) and read by the decision script on every invocation.
// Short strings, so the script reads two of them with one MGET and parses each with one string.match:
//
//   <base>h           <revision>;<status>;<periodStart>;<periodEnd>;<validUntil>;<apiCalls>      (the header)
//   <base>s:<slug>    <requests>;<units>;<ratePer15Min>                                         (one per included service)
//   <base>l           <seats>;<projects>;<storageBytes>                                         (plan limits: organization's seats)
//
// Times are epoch milliseconds; -1 is "unlimited"; a service without its key is not included. The header is
// written last-writer-wins by revision, in one script with the service keys (scripts.ts write).
import { AI_SERVICES } from '@g3d/manifest';

/** The subscription states a decision distinguishes; `suspended` (by platform administrators) overrides them. */
export const RECORD_STATUSES = ['active', 'trialing', 'past_due', 'cancelled', 'inactive', 'suspended'] as const;
export type RecordStatus = (typeof RECORD_STATUSES)[number];

/** Statuses under which services may be invoked. */
export const USABLE_STATUSES: readonly RecordStatus[] = ['active', 'trialing', 'past_due'];

export interface ServiceAllowance {
  /** Requests per usage period; null: unlimited. */
  requests: number | null;
  /** Units (the service's metered unit) per usage period; null: unlimited. */
  units: number | null;
  /** Requests per caller per 15-minute window. */
  rateLimitPer15Min: number;
}

export interface EntitlementRecord {
  /** Increases with every change of the subscription: a write never replaces a newer record. */
  revision: number;
  status: RecordStatus;
  /** The usage period quotas count in (epoch ms, end exclusive). */
  periodStart: number;
  periodEnd: number;
  /** After this the record is stale (period over, trial ended): decisions ask entitlement to renew it. */
  validUntil: number;
  /** Invocations of all services together per period; null: unlimited. */
  apiCalls: number | null;
  /** The services the organization may invoke (plan ∩ overrides), by slug. */
  services: Record<string, ServiceAllowance>;
  /** The plan's limits outside the AI services (with the organization's overrides). */
  limits: PlanLimits;
}

/** Limits of the plan (with overrides) that other subgraphs enforce: organization's seats. null: unlimited. */
export interface PlanLimits {
  /** Members plus pending invitations. */
  seats: number | null;
  projects: number | null;
  /** Bytes, as a decimal string (may exceed 2^53). */
  storageBytes: string | null;
}

export interface RecordHeader {
  revision: number;
  status: RecordStatus;
  periodStart: number;
  periodEnd: number;
  validUntil: number;
  apiCalls: number | null;
}

/** Every service a record may hold, in registry order: a write sets or removes each one's key. */
export const RECORD_SERVICES: readonly string[] = AI_SERVICES.map((s) => s.slug);

const limit = (value: number | null) => (value === null ? -1 : Math.trunc(value));
const unlimited = (value: number) => (value < 0 ? null : value);

export function encodeHeader(record: RecordHeader): string {
  return [
    record.revision,
    record.status,
    record.periodStart,
    record.periodEnd,
    record.validUntil,
    limit(record.apiCalls),
  ].join(';');
}

export function encodeAllowance(allowance: ServiceAllowance): string {
  return `${limit(allowance.requests)};${limit(allowance.units)};${limit(allowance.rateLimitPer15Min)}`;
}

export function encodePlanLimits(limits: PlanLimits): string {
  return `${limit(limits.seats)};${limit(limits.projects)};${limits.storageBytes ?? -1}`;
}

const HEADER = /^(\d+);([a-z_]+);(\d+);(\d+);(\d+);(-?\d+)$/;
const ALLOWANCE = /^(-?\d+);(-?\d+);(-?\d+)$/;
const PLAN_LIMITS = /^(-?\d+);(-?\d+);(-1|\d{1,19})$/;

export function decodeHeader(text: string | null): RecordHeader | null {
  const m = text === null ? null : HEADER.exec(text);
  if (!m || !RECORD_STATUSES.includes(m[2] as RecordStatus)) return null;
  return {
    revision: Number(m[1]),
    status: m[2] as RecordStatus,
    periodStart: Number(m[3]),
    periodEnd: Number(m[4]),
    validUntil: Number(m[5]),
    apiCalls: unlimited(Number(m[6])),
  };
}

export function decodeAllowance(text: string | null): ServiceAllowance | null {
  const m = text === null ? null : ALLOWANCE.exec(text);
  if (!m) return null;
  return {
    requests: unlimited(Number(m[1])),
    units: unlimited(Number(m[2])),
    rateLimitPer15Min: Math.max(0, Number(m[3])),
  };
}

export function decodePlanLimits(text: string | null): PlanLimits | null {
  const m = text === null ? null : PLAN_LIMITS.exec(text);
  if (!m) return null;
  return {
    seats: unlimited(Number(m[1])),
    projects: unlimited(Number(m[2])),
    storageBytes: m[3] === '-1' ? null : (m[3] as string),
  };
}
