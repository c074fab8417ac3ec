// Input validation of identity's own fields (the shared checks, secrets and emails included, are the kit's):
// every failure is a BAD_USER_INPUT naming the field.
import { cleanText } from '@g3d/kit';

export const MAX_NAME_LENGTH = 100;

/** A human name: trimmed, at most 100 characters, no control characters. */
export function cleanName(raw: string, field: string, options: { required?: boolean } = {}): string {
  return cleanText(raw, field, MAX_NAME_LENGTH, options);
}
