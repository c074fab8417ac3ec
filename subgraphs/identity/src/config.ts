// Identity's settings besides the common ones (README's configuration table documents each).
import { type CommonConfig, z } from '@g3d/config';

const count = () => z.coerce.number({ error: 'must be a number' }).int('must be a whole number');
const seconds = () => z.coerce.number({ error: 'must be a number of seconds' }).int('must be a whole number');

export const identityConfig = z.object({
  /** Identity's Ed25519 private JWK (JSON); unset: DATA_DIR/keys (generated at first all-in-one start). */
  IDENTITY_SIGNING_KEY: z.string().optional(),
  /** JSON array of public JWKs of retired identity keys still to publish (key rotation with env-provided keys). */
  IDENTITY_PREVIOUS_PUBLIC_KEYS: z.string().optional(),
  /** Absolute lifetime of a session and its refresh tokens. */
  SESSION_TTL_SECONDS: seconds()
    .min(300, 'must be between 300 and 31536000 seconds')
    .max(365 * 86400, 'must be between 300 and 31536000 seconds')
    .default(30 * 86400),
  /** A rotated refresh token presented again within this window gets fresh tokens; later, it ends the session. */
  REFRESH_GRACE_SECONDS: seconds()
    .min(0, 'must be between 0 and 60 seconds')
    .max(60, 'must be between 0 and 60 seconds')
    .default(10),
  /** 32 bytes, base64: encrypts TOTP secrets at rest. Unset: DATA_DIR/keys (generated at first start). */
  MFA_ENCRYPTION_KEY: z.string().optional(),
  PASSWORD_MIN_LENGTH: count().min(8, 'must be between 8 and 64').max(64, 'must be between 8 and 64').default(8),
  /** Failed logins per account before it is locked (15 min, doubling with each lock). */
  LOGIN_MAX_FAILURES: count().min(3, 'must be between 3 and 100').max(100, 'must be between 3 and 100').default(10),
  /** Login attempts per client IP per 15 minutes. */
  LOGIN_IP_LIMIT: count()
    .min(10, 'must be between 10 and 100000')
    .max(100_000, 'must be between 10 and 100000')
    .default(100),
  /**
   * Requests that send mail (register, resendVerification, requestPasswordReset; organization's inviteMember and
   * resendInvitation) per client IP per hour, one budget for both subgraphs. Organization's slice declares the
   * same setting (same name, same rule).
   */
  MAIL_IP_LIMIT: count()
    .min(1, 'must be between 1 and 100000')
    .max(100_000, 'must be between 1 and 100000')
    .default(30),
});

/** Every setting identity reads: the common ones and its slice. */
export type IdentityConfig = CommonConfig & z.infer<typeof identityConfig>;
