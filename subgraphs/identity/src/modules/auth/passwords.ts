// argon2id with the OWASP / ASVS parameters (m=19456 KiB, t=2, p=1). Hashes made with other parameters are
// upgraded at the next successful login (needsRehash).
import { type Algorithm, hash, verify } from '@node-rs/argon2';

import { normalizePassword } from '../passwords/policy.ts';

// Algorithm.Argon2id: a const enum, which verbatimModuleSyntax cannot import as a value.
const ARGON2ID = 2 as Algorithm.Argon2id;
export const ARGON2_PARAMS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
const CURRENT_PARAMS = `$argon2id$v=19$m=${ARGON2_PARAMS.memoryCost},t=${ARGON2_PARAMS.timeCost},p=${ARGON2_PARAMS.parallelism}$`;

export function hashPassword(password: string): Promise<string> {
  return hash(normalizePassword(password), ARGON2_PARAMS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, normalizePassword(password));
  } catch {
    return false;
  }
}

export function needsRehash(passwordHash: string): boolean {
  return !passwordHash.startsWith(CURRENT_PARAMS);
}

// Verifying against this when the email is unknown makes both failures cost the same time.
let dummyHash: Promise<string> | undefined;
export function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword('dummy password that never matches');
  return dummyHash.then((h) => verifyPassword(h, password)).then(() => false);
}
