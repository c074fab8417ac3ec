// The identity subgraph: users, credentials and the tokens the gateway trusts.
import {
  type AccessTokenSettings,
  isAuthenticated,
  isPlatformAdmin,
  isPublic,
  isSelf,
  or,
  type SigningKey,
} from '@g3d/auth';
import type { Database } from '@g3d/db';
import {
  createSubgraph,
  type DataLoader,
  DateTime,
  loadSdl,
  oneByKey,
  type SubgraphDefinition,
  type SubgraphDeps,
} from '@g3d/kit';

import { AuthService } from './modules/auth/auth.service.ts';
import { hashPassword } from './modules/auth/passwords.ts';
import { CredentialsRepository, type UserRecord, UsersRepository } from './modules/users/users.repository.ts';

export { normalizeEmail } from './modules/auth/auth.service.ts';

export interface IdentityOptions {
  signingKey: SigningKey;
  tokens: AccessTokenSettings;
}

interface IdentityContext {
  users: DataLoader<string, UserRecord | null>;
  auth: AuthService;
}

export const identityTypeDefs = loadSdl(import.meta.url, './schema.graphql');

const ownOrAdmin = or(isSelf(), isPlatformAdmin);

export const identityPermissions = {
  // Federation's own fields: open to the gateway; each entity type's fields carry their own rules.
  Query: { me: isPublic, _service: isPublic, _entities: isPublic },
  Mutation: { login: isPublic },
  User: {
    id: isAuthenticated,
    displayName: isAuthenticated,
    email: ownOrAdmin,
    firstName: ownOrAdmin,
    lastName: ownOrAdmin,
    emailVerified: ownOrAdmin,
    createdAt: ownOrAdmin,
  },
  // LoginResult is returned only to the caller who just proved the password.
  LoginResult: isPublic,
  _Service: isPublic,
};

export function identityDefinition(db: Database, options: IdentityOptions): SubgraphDefinition<IdentityContext> {
  const usersRepo = new UsersRepository(db.prisma);
  const auth = new AuthService(new CredentialsRepository(db.prisma), options.signingKey, options.tokens);
  return {
    name: 'identity',
    typeDefs: identityTypeDefs,
    permissions: identityPermissions,
    createContext: () => ({
      users: oneByKey(
        (ids) => usersRepo.findByIds(ids),
        (u) => u.id,
      ),
      auth,
    }),
    resolvers: {
      DateTime,
      Query: {
        me: (_parent, _args, ctx) => (ctx.caller.userId ? ctx.users.load(ctx.caller.userId) : null),
      },
      Mutation: {
        login: async (_parent, { input }: { input: { email: string; password: string } }, ctx) => {
          const result = await ctx.auth.login(input);
          return { ...result, tokenType: 'Bearer' };
        },
      },
      User: {
        __resolveReference: (ref: { id: string }, ctx: IdentityContext) => ctx.users.load(ref.id),
      },
    },
    routes: (router) => {
      router.get('/.well-known/jwks.json', (_req, res) => {
        res.set('cache-control', 'public, max-age=300').json({ keys: [options.signingKey.publicJwk] });
      });
    },
  };
}

export function createIdentityService(deps: SubgraphDeps & { db: Database }, options: IdentityOptions) {
  return createSubgraph(identityDefinition(deps.db, options), deps);
}

/** Creates the first platform administrator when there are no users yet. */
export async function seedFirstAdmin(
  db: Database,
  admin: { email: string; password: string },
): Promise<{ created: boolean; userId: string | null }> {
  const users = new UsersRepository(db.prisma);
  if ((await users.count()) > 0) return { created: false, userId: null };
  const user = await users.create({
    email: admin.email.trim().toLowerCase(),
    passwordHash: await hashPassword(admin.password),
    displayName: 'Administrator',
    roles: ['user', 'admin', 'super_admin'],
    emailVerified: true,
  });
  return { created: true, userId: user.id };
}
