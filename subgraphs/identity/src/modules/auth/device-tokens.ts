// Device tokens for smart lockout (login-throttle.ts): a client that signed in successfully gets one and sends it
// with its later logins. It proves only "this client signed in to this address before" — it grants nothing
// without the password — so it is a signed JWT (identity's key, `typ: device+jwt`, 90 days, renewed at every
// sign-in) bound to the address by a hash, and stored nowhere. A token that is invalid, expired, signed by a
// retired key or issued for another address is simply no device token: the attempt counts as unfamiliar.
import { randomUUID } from 'node:crypto';

import { sha256, type SigningKey } from '@g3d/auth';
import { jwtVerify, SignJWT } from 'jose';

const TYPE = 'device+jwt';
const AUDIENCE = 'g3d-device';
const TTL_SECONDS = 90 * 24 * 3600;
const MAX_LENGTH = 4096;

export class DeviceTokens {
  constructor(
    private readonly signingKey: SigningKey,
    private readonly issuer: string,
  ) {}

  /** A token for the device `deviceId` (a new device when null) that signed in to `email` as `userId`. */
  issue(userId: string, email: string, deviceId: string | null): Promise<string> {
    return new SignJWT({ did: deviceId ?? randomUUID(), eml: sha256(email) })
      .setProtectedHeader({ alg: 'EdDSA', typ: TYPE, kid: this.signingKey.kid })
      .setIssuer(this.issuer)
      .setAudience(AUDIENCE)
      .setSubject(userId)
      .setIssuedAt()
      .setExpirationTime(`${TTL_SECONDS}s`)
      .sign(this.signingKey.privateKey);
  }

  /** The device id of a valid token issued for `email` (normalized); null for anything else. */
  async deviceOf(token: string | null | undefined, email: string): Promise<string | null> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_LENGTH) return null;
    try {
      const { payload } = await jwtVerify(token, this.signingKey.publicKey, {
        algorithms: ['EdDSA'],
        typ: TYPE,
        issuer: this.issuer,
        audience: AUDIENCE,
        requiredClaims: ['sub', 'exp'],
      });
      const { did, eml } = payload as { did?: unknown; eml?: unknown };
      if (typeof did !== 'string' || did.length === 0 || did.length > 64 || eml !== sha256(email)) return null;
      return did;
    } catch {
      return null;
    }
  }
}
