// Ed25519 signing keys. Dev keys are generated at first start into the data directory (never the repo);
// production passes them by env as JWK JSON.
import fs from 'node:fs';
import path from 'node:path';

import { calculateJwkThumbprint, type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';

export type SigningKey = { kid: string; privateKey: CryptoKey; publicKey: CryptoKey; publicJwk: JWK };
export type VerifyKey = { kid: string; publicKey: CryptoKey; publicJwk: JWK };

async function fromPrivateJwk(jwk: JWK): Promise<SigningKey> {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.d) throw new Error('expected an Ed25519 private JWK');
  const { d: _d, ...publicJwk } = jwk;
  const kid = jwk.kid ?? (await calculateJwkThumbprint(publicJwk));
  const privateKey = (await importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA')) as CryptoKey;
  const publicKey = (await importJWK({ ...publicJwk, alg: 'EdDSA' }, 'EdDSA')) as CryptoKey;
  return { kid, privateKey, publicKey, publicJwk: { ...publicJwk, kid, alg: 'EdDSA', use: 'sig' } };
}

export async function publicKeyFromJwk(jwk: JWK): Promise<VerifyKey> {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || jwk.d) throw new Error('expected an Ed25519 public JWK');
  const kid = jwk.kid ?? (await calculateJwkThumbprint(jwk));
  const publicKey = (await importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA')) as CryptoKey;
  return { kid, publicKey, publicJwk: { ...jwk, kid, alg: 'EdDSA', use: 'sig' } };
}

export function parseJwk(text: string, what: string): JWK {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) throw new Error('not an object');
    return value as JWK;
  } catch (error) {
    throw new Error(`${what} is not valid JWK JSON (${(error as Error).message})`);
  }
}

export async function signingKeyFromJwkText(text: string, what: string): Promise<SigningKey> {
  return fromPrivateJwk(parseJwk(text, what));
}

export function keyPaths(dataDir: string, name: string) {
  const dir = path.join(dataDir, 'keys');
  return {
    dir,
    privatePath: path.join(dir, `${name}.private.jwk.json`),
    publicPath: path.join(dir, `${name}.public.jwk.json`),
  };
}

/** Loads `<dataDir>/keys/<name>.private.jwk.json`, creating a new Ed25519 key (mode 0600) when absent. */
export async function loadOrCreateSigningKey(dataDir: string, name: string): Promise<SigningKey> {
  const { dir, privatePath, publicPath } = keyPaths(dataDir, name);
  if (fs.existsSync(privatePath)) return signingKeyFromJwkText(fs.readFileSync(privatePath, 'utf8'), privatePath);
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  const { d: _d, ...pub } = jwk;
  jwk.kid = await calculateJwkThumbprint(pub);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // wx: never overwrite a key another process created a moment ago.
  try {
    fs.writeFileSync(privatePath, JSON.stringify(jwk), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return signingKeyFromJwkText(fs.readFileSync(privatePath, 'utf8'), privatePath);
  }
  const key = await fromPrivateJwk(jwk);
  fs.writeFileSync(publicPath, JSON.stringify(key.publicJwk), { mode: 0o644 });
  return key;
}

/** Loads the public half written by loadOrCreateSigningKey; null when it does not exist. */
export async function loadPublicKeyFile(dataDir: string, name: string): Promise<VerifyKey | null> {
  const { publicPath } = keyPaths(dataDir, name);
  if (!fs.existsSync(publicPath)) return null;
  return publicKeyFromJwk(parseJwk(fs.readFileSync(publicPath, 'utf8'), publicPath));
}

interface RetiredKeyFile {
  jwk: JWK;
  /** After this instant no token signed with the key can still be valid: stop publishing it. */
  retireAt: string;
}

const retiredPrefix = (name: string) => `${name}.retired-`;

/**
 * Key rotation: the current key becomes "retired" (its public half stays published until every token it
 * signed has expired) and a new current key is generated. Takes effect when the service restarts.
 */
export async function rotateSigningKey(
  dataDir: string,
  name: string,
  options: { keepPublishedSeconds: number },
): Promise<{ retiredKid: string | null; newKid: string }> {
  const { dir, privatePath, publicPath } = keyPaths(dataDir, name);
  let retiredKid: string | null = null;
  if (fs.existsSync(privatePath)) {
    const current = await signingKeyFromJwkText(fs.readFileSync(privatePath, 'utf8'), privatePath);
    const retired: RetiredKeyFile = {
      jwk: current.publicJwk,
      retireAt: new Date(Date.now() + options.keepPublishedSeconds * 1000).toISOString(),
    };
    fs.writeFileSync(path.join(dir, `${retiredPrefix(name)}${current.kid}.public.json`), JSON.stringify(retired), {
      mode: 0o644,
    });
    fs.rmSync(privatePath);
    fs.rmSync(publicPath, { force: true });
    retiredKid = current.kid;
  }
  const next = await loadOrCreateSigningKey(dataDir, name);
  return { retiredKid, newKid: next.kid };
}

/** Public JWKs of retired keys that may still have valid tokens (the others are deleted). */
export function loadRetiredPublicKeys(dataDir: string, name: string): JWK[] {
  const { dir } = keyPaths(dataDir, name);
  if (!fs.existsSync(dir)) return [];
  const keys: JWK[] = [];
  for (const file of fs.readdirSync(dir)) {
    if (!file.startsWith(retiredPrefix(name)) || !file.endsWith('.public.json')) continue;
    const full = path.join(dir, file);
    const retired = JSON.parse(fs.readFileSync(full, 'utf8')) as RetiredKeyFile;
    if (Date.parse(retired.retireAt) > Date.now()) keys.push(retired.jwk);
    else fs.rmSync(full, { force: true });
  }
  return keys;
}
