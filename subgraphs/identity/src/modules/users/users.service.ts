// A user's own profile, preferences and consent; each change is audited (preferences excepted: they are
// settings, not personal data the user gives or withdraws).
import type { ClientInfo } from '@g3d/auth';
import { unauthenticated } from '@g3d/errors';

import type { AuditLog } from '../audit/audit.service.ts';
import { cleanName } from '../shared/input.ts';
import { applyPreferences, type PreferencesPatch, readPreferences } from './preferences.ts';
import type { UserRecord, UsersRepository } from './users.repository.ts';

export interface ProfileInput {
  firstName?: string | null;
  lastName?: string | null;
  displayName?: string | null;
}

export interface ConsentInput {
  gdprConsent?: boolean | null;
  ccpaOptOut?: boolean | null;
}

export class ProfileService {
  constructor(
    private readonly users: UsersRepository,
    private readonly audit: AuditLog,
  ) {}

  async updateProfile(userId: string, input: ProfileInput, client: ClientInfo): Promise<UserRecord> {
    const data: Record<string, string> = {};
    if (input.firstName != null) data.firstName = cleanName(input.firstName, 'firstName', { required: true });
    if (input.lastName != null) data.lastName = cleanName(input.lastName, 'lastName', { required: true });
    if (input.displayName != null) data.displayName = cleanName(input.displayName, 'displayName', { required: true });
    const user = await this.users.update(userId, data);
    await this.audit.record({ type: 'user.profile_updated', userId, client, metadata: { fields: Object.keys(data) } });
    return user;
  }

  async updatePreferences(userId: string, input: PreferencesPatch): Promise<UserRecord> {
    const current = await this.users.findById(userId);
    if (!current) throw unauthenticated();
    const next = applyPreferences(readPreferences(current.preferences), input);
    return this.users.update(userId, { preferences: next as object });
  }

  async updateConsent(userId: string, input: ConsentInput, client: ClientInfo): Promise<UserRecord> {
    const now = new Date();
    const data: Record<string, unknown> = {};
    if (input.gdprConsent != null) Object.assign(data, { gdprConsent: input.gdprConsent, gdprConsentAt: now });
    if (input.ccpaOptOut != null) Object.assign(data, { ccpaOptOut: input.ccpaOptOut, ccpaOptOutAt: now });
    const user = await this.users.update(userId, data);
    await this.audit.record({ type: 'user.consent_updated', userId, client, metadata: { ...input } });
    return user;
  }
}
