import { forbidden } from '@g3d/errors';
import { rule } from 'graphql-shield';

/** The fallback rule: a field without an explicit rule is denied. */
export const denied = rule('deniedByDefault', { cache: 'contextual' })(() => forbidden('Not allowed'));
