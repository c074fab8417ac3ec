// AES-256-GCM for TOTP secrets at rest: a database dump alone must not be enough to mint MFA codes.
// Format: `v1.<iv>.<tag>.<ciphertext>` (base64url, no padding). The version prefix lets a later key or algorithm
// rotation tell old rows from new ones.
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const VERSION = 'v1';
const KEY_BYTES = 32;
// 96-bit IVs are GCM's native size; random IVs are safe far beyond the number of secrets we will ever seal.
const IV_BYTES = 12;
// Full-length tag, and demanded on open: accepting a truncated tag would weaken authentication.
const TAG_BYTES = 16;
// Binds every ciphertext to this purpose, so a value sealed for something else under the same key fails here.
const CONTEXT = 'g3d-identity-mfa-secret';
// TOTP secrets are tiny; anything far larger is not ours and is refused before any decoding work.
const MAX_SEALED_LENGTH = 4096;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export type SecretBox = {
  /** Encrypts `plaintext`; `aad` (use the user id) must be given again to open it. */
  seal(plaintext: string, aad?: string): string;
  /** Decrypts a `seal` result; throws a plain Error on any format problem, tampering, wrong key or wrong AAD. */
  open(sealed: string, aad?: string): string;
};

// The NUL separator keeps (context, aad) unambiguous; the caller's AAD is typically the user id, so a sealed
// secret copied into another user's row does not open.
const additionalData = (aad: string | undefined) => Buffer.from(`${CONTEXT}\u0000${aad ?? ''}`, 'utf8');

// Buffer.from(…, 'base64url') ignores junk and unused trailing bits; requiring the canonical encoding means
// every change to the sealed text is a change to the bytes, and so fails authentication.
function decodeCanonicalBase64url(text: string): Buffer | null {
  if (!BASE64URL.test(text)) return null;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : null;
}

const cannotOpen = () => new Error('MFA secret cannot be opened (malformed, tampered with, or wrong key)');

export function createSecretBox(key: Buffer): SecretBox {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
    throw new Error(`MFA encryption key must be exactly ${KEY_BYTES} bytes`);
  }
  // A KeyObject holds its own copy, so later changes to the caller's buffer cannot change our key.
  const secretKey: KeyObject = createSecretKey(Buffer.from(key));

  return {
    seal(plaintext, aad) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', secretKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(additionalData(aad));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [VERSION, ...[iv, tag, ciphertext].map((bytes) => bytes.toString('base64url'))].join('.');
    },

    open(sealed, aad) {
      if (typeof sealed !== 'string' || sealed.length > MAX_SEALED_LENGTH) throw cannotOpen();
      const parts = sealed.split('.');
      if (parts.length !== 4 || parts[0] !== VERSION) throw cannotOpen();
      const [iv, tag, ciphertext] = parts.slice(1).map(decodeCanonicalBase64url);
      if (!iv || !tag || !ciphertext || iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw cannotOpen();
      try {
        const decipher = createDecipheriv('aes-256-gcm', secretKey, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(additionalData(aad));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      } catch {
        // node:crypto's own message ("Unsupported state or unable to authenticate data") says nothing useful.
        throw cannotOpen();
      }
    },
  };
}

/**
 * Parses a key given as text (env / secret manager): standard base64 of exactly 32 bytes. The error messages
 * never echo the text, since it is a secret.
 */
export function secretBoxKeyFromText(text: string): Buffer {
  const trimmed = text.trim();
  if (!BASE64.test(trimmed) || trimmed.length % 4 !== 0) {
    throw new Error(`MFA encryption key must be base64 (${KEY_BYTES} random bytes, e.g. \`openssl rand -base64 32\`)`);
  }
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new Error(`MFA encryption key must decode to exactly ${KEY_BYTES} bytes, got ${key.length}`);
  }
  if (key.toString('base64') !== trimmed) throw new Error('MFA encryption key is not canonical base64');
  return key;
}

/**
 * Loads `<dataDir>/keys/mfa-encryption.key`, creating it (32 random bytes, base64, mode 0600) on first start.
 * For development and single-node setups; production passes the key by env (secretBoxKeyFromText).
 * Losing this file makes every enrolled TOTP secret unreadable, so it is never overwritten.
 */
export function loadOrCreateSecretBoxKey(dataDir: string): Buffer {
  const dir = path.join(dataDir, 'keys');
  const keyPath = path.join(dir, 'mfa-encryption.key');
  const read = () => {
    try {
      return secretBoxKeyFromText(fs.readFileSync(keyPath, 'utf8'));
    } catch (error) {
      throw new Error(`${keyPath}: ${(error as Error).message}`);
    }
  };
  if (fs.existsSync(keyPath)) return read();
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  // wx: if another process created the key a moment ago, use theirs rather than overwrite it.
  try {
    fs.writeFileSync(keyPath, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return read();
  }
  return key;
}
