// Key bundles: after keygen (and rotation), each kind of service gets a directory holding exactly the key files
// it needs, so a deployment can mount one per container instead of every key everywhere (docker-compose.yml
// mounts DATA_DIR/bundles/<bundle> of the keygen job as that service's DATA_DIR/keys, read-only).
import fs from 'node:fs';
import path from 'node:path';

import { findService, type KeyBundle } from '@g3d/manifest';

const GATEWAY_PUBLIC = 'gateway.public.jwk.json';

/** Which files of DATA_DIR/keys go to which bundle (a string: that file; a RegExp: every file matching it). */
export const KEY_BUNDLES = {
  /** The gateway signs subgraph fetches. */
  gateway: ['gateway.private.jwk.json', GATEWAY_PUBLIC],
  /** Identity signs access and service tokens, publishes retired keys, encrypts TOTP secrets, checks the door. */
  identity: [
    'identity.private.jwk.json',
    'identity.public.jwk.json',
    /^identity\.retired-.+\.public\.json$/,
    'mfa-encryption.key',
    GATEWAY_PUBLIC,
  ],
  /** Every other subgraph only checks the gateway's signature. */
  subgraph: [GATEWAY_PUBLIC],
} as const satisfies Record<KeyBundle, readonly (string | RegExp)[]>;

/** The bundle a service's container mounts as its keys (its manifest entry says which). */
export function keyBundleOf(service: string): KeyBundle {
  const declaration = findService(service);
  if (!declaration) throw new Error(`unknown service ${service}`);
  return declaration.keyBundle;
}

/** (Re)writes DATA_DIR/bundles/<bundle>/ from DATA_DIR/keys; files no longer in the bundle are removed. */
export function writeKeyBundles(dataDir: string): Record<KeyBundle, string[]> {
  const keysDir = path.join(dataDir, 'keys');
  const available = fs.readdirSync(keysDir);
  const written = {} as Record<KeyBundle, string[]>;
  for (const [bundle, patterns] of Object.entries(KEY_BUNDLES) as [KeyBundle, readonly (string | RegExp)[]][]) {
    const dir = path.join(dataDir, 'bundles', bundle);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const files = available.filter((file) => patterns.some((p) => (typeof p === 'string' ? p === file : p.test(file))));
    for (const file of files) {
      const source = path.join(keysDir, file);
      fs.copyFileSync(source, path.join(dir, file));
      fs.chmodSync(path.join(dir, file), fs.statSync(source).mode & 0o777);
    }
    for (const stale of fs.readdirSync(dir).filter((file) => !files.includes(file))) {
      fs.rmSync(path.join(dir, stale), { force: true });
    }
    written[bundle] = files.sort();
  }
  return written;
}
