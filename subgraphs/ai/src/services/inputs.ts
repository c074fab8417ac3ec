// Argument checks shared by the wrappers: a bad argument is the caller's mistake (BAD_USER_INPUT naming the
// field), refused before the upstream is called. Optional arguments left out are not sent.
import { AppError } from '@g3d/errors';

/** `{ [key]: value }` when given and a whole number within bounds, `{}` when absent. */
export function intBetween(key: string, value: number | null | undefined, min: number, max: number, field: string) {
  if (value === null || value === undefined) return {};
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new AppError('BAD_USER_INPUT', `${field} must be a whole number from ${min} to ${max}`, { field });
  }
  return { [key]: value };
}

/** `{ [key]: value }` when given and finite, `{}` when absent. */
export function numberOrNull(key: string, value: number | null | undefined, field: string) {
  if (value === null || value === undefined) return {};
  if (!Number.isFinite(value)) throw new AppError('BAD_USER_INPUT', `${field} must be a finite number`, { field });
  return { [key]: value };
}

/** The text when within `max` characters (and free of NUL bytes unless allowed). */
export function text(value: string, max: number, field: string): string {
  if (value.length > max) {
    throw new AppError('BAD_USER_INPUT', `${field} is longer than ${max} characters`, {
      field,
      reason: 'INPUT_TOO_LARGE',
    });
  }
  return value;
}
