// API keys for machine clients: the caller's own, created with at most the caller's scopes.
import { isSignedInUser } from '@g3d/auth';
import { defineModule, loadSdl } from '@g3d/kit';

import { type IdentityContext, requireUser } from '../../context.ts';

interface CreateApiKeyInput {
  name: string;
  scopes?: string[] | null;
  expiresAt?: Date | null;
}

export const apiKeysModule = defineModule<IdentityContext>({
  name: 'api-keys',
  typeDefs: loadSdl(import.meta.url, './schema.graphql'),
  rules: {
    Query: { myApiKeys: isSignedInUser },
    Mutation: { createApiKey: isSignedInUser, revokeApiKey: isSignedInUser },
    ApiKey: isSignedInUser,
    CreatedApiKey: isSignedInUser,
  },
  resolvers: {
    Query: {
      myApiKeys: (_p, _a, ctx) => ctx.services.apiKeys.list(requireUser(ctx)),
    },
    Mutation: {
      createApiKey: (_p, { input }: { input: CreateApiKeyInput }, ctx) =>
        ctx.services.apiKeys.create(ctx.caller, input, ctx.client),
      revokeApiKey: (_p, { id }: { id: string }, ctx) => ctx.services.apiKeys.revoke(requireUser(ctx), id, ctx.client),
    },
  },
});
