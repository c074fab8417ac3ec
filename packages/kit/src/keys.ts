// Keys at startup: from a setting, else from DATA_DIR/keys. Only the all-in-one process and keygen create
// missing keys: a service running alone that made its own key would sign with one nobody trusts. Every failure
// is a StartupError naming the setting.
import fs from 'node:fs';
import path from 'node:path';

import {
  keyPaths,
  loadOrCreateSigningKey,
  loadPublicKeyFile,
  parseJwk,
  publicKeyFromJwk,
  type SigningKey,
  signingKeyFromJwkText,
  type VerifyKey,
} from '@g3d/auth';
import { StartupError } from '@g3d/config';

/** A signing key from `setting` (a private JWK as JSON), else DATA_DIR/keys/<name>.private.jwk.json. */
export async function loadSigningKey(options: {
  name: string;
  setting: string;
  value: string | undefined;
  dataDir: string;
  create: boolean;
}): Promise<SigningKey> {
  const { name, setting, value, dataDir } = options;
  const file = keyPaths(dataDir, name).privatePath;
  if (!value && !options.create && !fs.existsSync(file)) {
    throw new StartupError(setting, `not set, and no ${file} (run the keygen service first)`);
  }
  try {
    return value ? await signingKeyFromJwkText(value, setting) : await loadOrCreateSigningKey(dataDir, name);
  } catch (error) {
    throw new StartupError(value ? setting : 'DATA_DIR', (error as Error).message);
  }
}

/** The gateway's public key, for a subgraph: GATEWAY_PUBLIC_KEY, else DATA_DIR/keys/gateway.public.jwk.json. */
export async function loadGatewayPublicKey(value: string | undefined, dataDir: string): Promise<VerifyKey> {
  try {
    if (value) return await publicKeyFromJwk(parseJwk(value, 'GATEWAY_PUBLIC_KEY'));
    const key = await loadPublicKeyFile(dataDir, 'gateway');
    if (key) return key;
  } catch (error) {
    throw new StartupError('GATEWAY_PUBLIC_KEY', (error as Error).message);
  }
  throw new StartupError(
    'GATEWAY_PUBLIC_KEY',
    `not set, and no ${path.join(dataDir, 'keys/gateway.public.jwk.json')} (run the keygen service first)`,
  );
}
