// Identity's public keys (GET /.well-known/jwks.json): the gateway verifies access tokens with them, and
// organization identity's service tokens.
import type { BaseContext, SubgraphDefinition } from '@g3d/kit';

import type { IdentityKeys } from '../../keys.ts';

type Routes = NonNullable<SubgraphDefinition<BaseContext>['routes']>;

export function jwksRoutes(keys: Pick<IdentityKeys, 'signingKey' | 'retiredPublicKeys'>): Routes {
  return (router) => {
    router.get('/.well-known/jwks.json', (_req, res) => {
      // The current key first, then retired keys until their last tokens expire (rotation without logouts).
      const jwks = [keys.signingKey.publicJwk, ...keys.retiredPublicKeys];
      res.set('cache-control', 'public, max-age=60').json({ keys: jwks });
    });
  };
}
