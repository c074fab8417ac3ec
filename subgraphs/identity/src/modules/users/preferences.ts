// User preferences: stored as JSON, read through these defaults so old rows gain new keys automatically.
import { badUserInput } from '@g3d/errors';

export interface Preferences {
  theme: 'LIGHT' | 'DARK' | 'SYSTEM';
  language: string;
  timezone: string;
  notifications: { email: boolean; inApp: boolean; push: boolean; sms: boolean };
  privacy: { profileVisible: boolean; analyticsOptOut: boolean; dataRetentionDays: number };
}

export const DEFAULT_PREFERENCES: Preferences = {
  theme: 'SYSTEM',
  language: 'en',
  timezone: 'UTC',
  notifications: { email: true, inApp: true, push: false, sms: false },
  privacy: { profileVisible: true, analyticsOptOut: false, dataRetentionDays: 365 },
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function readPreferences(stored: unknown): Preferences {
  const s = isObject(stored) ? stored : {};
  return {
    ...DEFAULT_PREFERENCES,
    ...s,
    notifications: { ...DEFAULT_PREFERENCES.notifications, ...(isObject(s.notifications) ? s.notifications : {}) },
    privacy: { ...DEFAULT_PREFERENCES.privacy, ...(isObject(s.privacy) ? s.privacy : {}) },
  } as Preferences;
}

const LANGUAGE_TAG = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$/;

/** The canonical IANA name of a time zone ("utc" → "UTC"), or null when unknown. */
function canonicalTimeZone(zone: string): string | null {
  if (zone.length > 64) return null;
  try {
    return new Intl.DateTimeFormat('en', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

export type PreferencesPatch = {
  theme?: Preferences['theme'] | null;
  language?: string | null;
  timezone?: string | null;
  notifications?: Partial<Record<keyof Preferences['notifications'], boolean | null>> | null;
  privacy?: {
    profileVisible?: boolean | null;
    analyticsOptOut?: boolean | null;
    dataRetentionDays?: number | null;
  } | null;
};

const defined = <T extends object>(o: T | null | undefined) =>
  Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== null && v !== undefined));

/** Applies a patch after validating it; unknown or invalid values are BAD_USER_INPUT naming the field. */
export function applyPreferences(current: Preferences, patch: PreferencesPatch): Preferences {
  if (patch.language != null && !LANGUAGE_TAG.test(patch.language))
    throw badUserInput('Invalid language tag', 'language');
  const timezone = patch.timezone == null ? null : canonicalTimeZone(patch.timezone);
  if (patch.timezone != null && !timezone) throw badUserInput('Unknown time zone', 'timezone');
  const days = patch.privacy?.dataRetentionDays;
  if (days != null && (!Number.isInteger(days) || days < 1 || days > 3650)) {
    throw badUserInput('dataRetentionDays must be between 1 and 3650', 'dataRetentionDays');
  }
  return {
    ...current,
    ...defined({ theme: patch.theme, language: patch.language, timezone }),
    notifications: { ...current.notifications, ...defined(patch.notifications) },
    privacy: { ...current.privacy, ...defined(patch.privacy) },
  };
}
