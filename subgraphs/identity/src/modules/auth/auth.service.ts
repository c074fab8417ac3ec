// Login: email + password → access token. (Refresh tokens, sessions, MFA and lockout come with the
// identity issue; this is the skeleton's path.)
import { randomUUID } from 'node:crypto';

import { type AccessTokenSettings, signAccessToken, type SigningKey } from '@g3d/auth';
import { AppError, badUserInput } from '@g3d/errors';

import type { CredentialsRepository, UserRecord } from '../users/users.repository.ts';
import { verifyAgainstDummy, verifyPassword } from './passwords.ts';

export const MAX_EMAIL_LENGTH = 254;
export const MAX_PASSWORD_LENGTH = 1024;

const hasControlCharacters = (value: string) =>
  [...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

export function normalizeEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (email.length > MAX_EMAIL_LENGTH || hasControlCharacters(email) || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    throw badUserInput('Invalid email address', 'email');
  }
  return email;
}

export class AuthService {
  constructor(
    private readonly credentials: CredentialsRepository,
    private readonly signingKey: SigningKey,
    private readonly tokens: AccessTokenSettings,
  ) {}

  async login(input: {
    email: string;
    password: string;
  }): Promise<{ accessToken: string; expiresIn: number; user: UserRecord }> {
    const email = normalizeEmail(input.email);
    if (input.password.length === 0 || input.password.length > MAX_PASSWORD_LENGTH) {
      throw badUserInput('Invalid password', 'password');
    }
    const found = await this.credentials.findByEmail(email);
    // Same work and same answer for an unknown email and a wrong password.
    const ok = found
      ? await verifyPassword(found.passwordHash, input.password)
      : await verifyAgainstDummy(input.password);
    if (!found || !ok) throw new AppError('UNAUTHENTICATED', 'Invalid email or password');
    const { passwordHash: _hash, ...user } = found;
    const accessToken = await signAccessToken(this.signingKey, this.tokens, {
      userId: user.id,
      sessionId: randomUUID(),
      organizationId: null,
      roles: user.roles,
      scopes: [],
    });
    return { accessToken, expiresIn: this.tokens.ttlSeconds, user };
  }
}
