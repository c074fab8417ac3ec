// Validation of organization fields: every failure is BAD_USER_INPUT naming the field, before any write.
import { badUserInput, forbidden } from '@g3d/errors';
import { cleanText } from '@g3d/kit';

export const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
/** Slugs that would read as platform pages or impersonate the platform. */
const RESERVED_SLUGS = new Set([
  'admin',
  'api',
  'app',
  'auth',
  'billing',
  'default',
  'g3d',
  'graphql',
  'help',
  'login',
  'settings',
  'support',
  'system',
  'www',
]);

export interface OrganizationSettings {
  allowUserInvites: boolean;
  requireEmailVerification: boolean;
  enforceMfa: boolean;
  dataRetentionDays: number;
  allowedEmailDomains: string[];
  /** Members plus pending invitations; the entitlement subgraph's plans will own it later. */
  seatLimit: number;
}

export const DEFAULT_SETTINGS: OrganizationSettings = {
  allowUserInvites: true,
  requireEmailVerification: true,
  enforceMfa: false,
  dataRetentionDays: 365,
  allowedEmailDomains: [],
  seatLimit: 50,
};

export const MAX_SEAT_LIMIT = 100_000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function readSettings(stored: unknown): OrganizationSettings {
  return { ...DEFAULT_SETTINGS, ...(isObject(stored) ? stored : {}) } as OrganizationSettings;
}

/** Organization text fields (name, description, industry, website). */
export const text = cleanText;

export function slug(value: string): string {
  if (value.length < 3 || value.length > 48 || !SLUG.test(value)) {
    throw badUserInput('A slug has 3–48 lowercase letters, digits and single hyphens', 'slug');
  }
  if (RESERVED_SLUGS.has(value)) throw badUserInput('This slug is reserved', 'slug');
  return value;
}

export function website(value: string): string {
  const clean = text(value, 'website', 2048);
  if (clean === '') return clean;
  try {
    const url = new URL(clean);
    if (url.protocol === 'https:' || url.protocol === 'http:') return url.toString();
  } catch {
    // fall through
  }
  throw badUserInput('website must be an http(s) URL', 'website');
}

/** The domain part of an email address is in the allowed list (an empty list allows every domain). */
export function domainAllowed(settings: OrganizationSettings, email: string): boolean {
  const domain = email.slice(email.lastIndexOf('@') + 1);
  return settings.allowedEmailDomains.length === 0 || settings.allowedEmailDomains.includes(domain);
}

const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

export function settingsPatch(
  current: OrganizationSettings,
  patch: Partial<Record<keyof OrganizationSettings, unknown>>,
  actor: { isPlatformAdmin: boolean },
): OrganizationSettings {
  const next = { ...current };
  if (patch.seatLimit != null) {
    // A plan limit, not the organization's own choice.
    if (!actor.isPlatformAdmin) throw forbidden('Only platform administrators change the seat limit');
    const seats = patch.seatLimit as number;
    if (!Number.isInteger(seats) || seats < 1 || seats > MAX_SEAT_LIMIT)
      throw badUserInput(`seatLimit must be between 1 and ${MAX_SEAT_LIMIT}`, 'seatLimit');
    next.seatLimit = seats;
  }
  for (const key of ['allowUserInvites', 'requireEmailVerification', 'enforceMfa'] as const) {
    if (typeof patch[key] === 'boolean') next[key] = patch[key];
  }
  if (patch.dataRetentionDays != null) {
    const days = patch.dataRetentionDays as number;
    if (!Number.isInteger(days) || days < 1 || days > 3650)
      throw badUserInput('dataRetentionDays must be between 1 and 3650', 'dataRetentionDays');
    next.dataRetentionDays = days;
  }
  if (patch.allowedEmailDomains != null) {
    const domains = [...new Set((patch.allowedEmailDomains as string[]).map((d) => d.trim().toLowerCase()))];
    if (domains.length > 100) throw badUserInput('At most 100 allowed email domains', 'allowedEmailDomains');
    for (const domain of domains)
      if (!DOMAIN.test(domain)) throw badUserInput(`Invalid domain: ${domain.slice(0, 64)}`, 'allowedEmailDomains');
    next.allowedEmailDomains = domains;
  }
  return next;
}
