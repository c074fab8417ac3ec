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
