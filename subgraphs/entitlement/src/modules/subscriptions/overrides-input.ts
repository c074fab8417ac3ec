// Platform administrators' custom overrides for one organization, checked like plan input.
import { badUserInput } from '@g3d/errors';

import { quota, type ServiceLimitInput, serviceLimits, storage } from '../plans/plan-input.ts';
import type { Overrides } from './limits.ts';

export interface OverridesInput {
  services?: (ServiceLimitInput & { included?: boolean | null })[] | null;
  seats?: number | null;
  projects?: number | null;
  storageBytes?: string | null;
  apiCalls?: number | null;
}

/** Absent fields keep the plan's value; null means unlimited. */
export function overridesFrom(input: OverridesInput): Overrides {
  const entries = input.services ?? [];
  if (entries.length > 64) throw badUserInput('Too many service overrides', 'input.services');
  const limits = serviceLimits(entries, 'input.services');
  const services: NonNullable<Overrides['services']> = {};
  for (const entry of entries) {
    services[entry.service] = {
      ...limits[entry.service],
      ...(entry.included != null ? { included: entry.included } : {}),
    };
  }
  const overrides: Overrides = { services };
  if (input.seats !== undefined) overrides.seats = quota(input.seats, 'input.seats');
  if (input.projects !== undefined) overrides.projects = quota(input.projects, 'input.projects');
  if (input.apiCalls !== undefined) overrides.apiCalls = quota(input.apiCalls, 'input.apiCalls');
  if (input.storageBytes !== undefined) {
    const bytes = storage(input.storageBytes, 'input.storageBytes');
    overrides.storageBytes = bytes === null || bytes === undefined ? null : bytes.toString();
  }
  return overrides;
}
