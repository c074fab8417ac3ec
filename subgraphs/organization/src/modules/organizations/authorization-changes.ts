// When a user's roles in an organization change (or they leave, or an organization changes its MFA policy or
// disappears), their access tokens still carry the old roles and scopes. Recording the moment in the shared
// store makes the gateway refuse tokens issued before it (reason AUTHORIZATION_CHANGED): the client refreshes
// and identity issues a token with the new scopes. The entry lives as long as an access token can.
import { authorizationChangedKey } from '@g3d/auth';
import type { Store } from '@g3d/store';

export class AuthorizationChanges {
  constructor(
    private readonly store: Store,
    private readonly accessTokenTtlSeconds: number,
  ) {}

  async mark(userIds: Iterable<string>): Promise<void> {
    const now = String(Date.now());
    const ttlMs = (this.accessTokenTtlSeconds + 60) * 1000;
    await Promise.all([...new Set(userIds)].map((id) => this.store.set(authorizationChangedKey(id), now, { ttlMs })));
  }
}
