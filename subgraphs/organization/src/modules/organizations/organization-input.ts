// Validation of organization fields: every failure is BAD_USER_INPUT naming the field, before any write.
import { badUserInput } from '@g3d/errors';
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
}

export const DEFAULT_SETTINGS: OrganizationSettings = {
  allowUserInvites: true,
  requireEmailVerification: true,
  enforceMfa: false,
  dataRetentionDays: 365,
  allowedEmailDomains: [],
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The stored settings over the defaults; keys no longer settings (e.g. the old seatLimit) are dropped. */
export function readSettings(stored: unknown): OrganizationSettings {
  const values = isObject(stored) ? stored : {};
  const settings = { ...DEFAULT_SETTINGS };
  for (const key of Object.keys(DEFAULT_SETTINGS) as (keyof OrganizationSettings)[]) {
    if (Object.hasOwn(values, key)) (settings as Record<string, unknown>)[key] = values[key];
  }
  return settings;
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
): OrganizationSettings {
  const next = { ...current };
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
