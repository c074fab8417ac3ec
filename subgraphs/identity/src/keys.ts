// Identity's keys at startup: the signing key (access, MFA-challenge and service tokens), the public keys of
// retired signing keys still to publish, and the key encrypting TOTP secrets at rest. Each from its setting,
// else from DATA_DIR/keys; only the all-in-one process and keygen create missing ones. Every failure is a
// StartupError naming the setting.
import fs from 'node:fs';
import path from 'node:path';

import { loadRetiredPublicKeys, type SigningKey } from '@g3d/auth';
import { StartupError } from '@g3d/config';
import { loadSigningKey } from '@g3d/kit';
import type { JWK } from 'jose';

import type { IdentityConfig } from './config.ts';
import { loadOrCreateSecretBoxKey, secretBoxKeyFromText } from './modules/mfa/secret-box.ts';

export interface IdentityKeys {
  signingKey: SigningKey;
  /** Public keys of retired signing keys whose tokens may still be valid: published in the JWKS too. */
  retiredPublicKeys: JWK[];
  /** 32 bytes encrypting TOTP secrets at rest. */
  mfaKey: Buffer;
}

export type IdentityKeySettings = Pick<
  IdentityConfig,
  'DATA_DIR' | 'IDENTITY_SIGNING_KEY' | 'IDENTITY_PREVIOUS_PUBLIC_KEYS' | 'MFA_ENCRYPTION_KEY'
>;

export async function loadIdentityKeys(
  config: IdentityKeySettings,
  options: { create: boolean },
): Promise<IdentityKeys> {
  const signingKey = await loadSigningKey({
    name: 'identity',
    setting: 'IDENTITY_SIGNING_KEY',
    value: config.IDENTITY_SIGNING_KEY,
    dataDir: config.DATA_DIR,
    create: options.create,
  });
  return { signingKey, retiredPublicKeys: retiredPublicKeys(config), mfaKey: loadMfaKey(config, options.create) };
}

/** Retired identity keys to keep publishing: from IDENTITY_PREVIOUS_PUBLIC_KEYS, else DATA_DIR/keys. */
function retiredPublicKeys(config: IdentityKeySettings): JWK[] {
  if (!config.IDENTITY_PREVIOUS_PUBLIC_KEYS) return loadRetiredPublicKeys(config.DATA_DIR, 'identity');
  try {
    const keys: unknown = JSON.parse(config.IDENTITY_PREVIOUS_PUBLIC_KEYS);
    if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'object' || k === null || 'd' in k))
      throw new Error('not an array of public JWKs');
    return keys as JWK[];
  } catch (error) {
    throw new StartupError('IDENTITY_PREVIOUS_PUBLIC_KEYS', (error as Error).message);
  }
}

/** The key that encrypts TOTP secrets at rest: MFA_ENCRYPTION_KEY, else DATA_DIR/keys/mfa-encryption.key. */
function loadMfaKey(config: IdentityKeySettings, create: boolean): Buffer {
  try {
    if (config.MFA_ENCRYPTION_KEY) return secretBoxKeyFromText(config.MFA_ENCRYPTION_KEY);
    const file = path.join(config.DATA_DIR, 'keys', 'mfa-encryption.key');
    if (!create && !fs.existsSync(file)) throw new Error(`not set, and no ${file} (run the keygen service first)`);
    return loadOrCreateSecretBoxKey(config.DATA_DIR);
  } catch (error) {
    throw new StartupError('MFA_ENCRYPTION_KEY', (error as Error).message);
  }
}
