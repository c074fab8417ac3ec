// argon2id with the OWASP / ASVS parameters (m=19456 KiB, t=2, p=1).
import { type Algorithm, hash, verify } from '@node-rs/argon2';

// Algorithm.Argon2id: a const enum, which verbatimModuleSyntax cannot import as a value.
const ARGON2ID = 2 as Algorithm.Argon2id;
const PARAMS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, PARAMS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

// Verifying against this when the email is unknown makes both failures cost the same time.
let dummyHash: Promise<string> | undefined;
export function verifyAgainstDummy(password: string): Promise<boolean> {
  dummyHash ??= hashPassword('dummy password that never matches');
  return dummyHash.then((h) => verifyPassword(h, password)).then(() => false);
}
