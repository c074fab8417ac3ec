// The identity subgraph: accounts, credentials, sessions and tokens, MFA, API keys, the security audit log.
// Wiring only: each module owns its SDL, rules and resolvers.
import { baseModule, createSubgraph, defineService, loadSdl, securityStateJob, subgraphDeps } from '@g3d/kit';

import { identityConfig } from './config.ts';
import { createIdentityContext } from './context.ts';
import { loadIdentityKeys } from './keys.ts';
import { accountModule } from './modules/account/account.module.ts';
import { apiKeysModule } from './modules/api-keys/api-keys.module.ts';
import { apiKeyVerifyRoute } from './modules/api-keys/api-keys.route.ts';
import { auditModule } from './modules/audit/audit.module.ts';
import { authModule } from './modules/auth/auth.module.ts';
import { jwksRoutes } from './modules/auth/jwks.ts';
import { organizationClient, remoteOrganizationDirectory } from './modules/auth/organization-directory.ts';
import { mfaModule } from './modules/mfa/mfa.module.ts';
import { registrationModule } from './modules/registration/registration.module.ts';
import { sessionsModule } from './modules/sessions/sessions.module.ts';
import { usersModule } from './modules/users/users.module.ts';
import { identitySecurityState } from './security-state.ts';
import { createIdentityServices } from './services.ts';

export { type IdentityConfig, identityConfig } from './config.ts';
export { type IdentityKeys, loadIdentityKeys } from './keys.ts';
export { hashPassword } from './modules/auth/passwords.ts';
export { loadOrCreateSecretBoxKey, secretBoxKeyFromText } from './modules/mfa/secret-box.ts';
export { generateTotp } from './modules/mfa/totp.ts';
export { seedFirstAdmin } from './modules/users/seed.ts';
export { normalizeEmail } from '@g3d/kit';

export const identitySchema = {
  name: 'identity',
  modules: [
    baseModule(loadSdl(import.meta.url, './schema.graphql')),
    usersModule,
    authModule,
    registrationModule,
    sessionsModule,
    mfaModule,
    apiKeysModule,
    accountModule,
    auditModule,
  ],
};

export const service = defineService({
  config: identityConfig,
  schema: () => identitySchema,
  async build(context) {
    const { config, logger } = context;
    const keys = await loadIdentityKeys(config, { create: context.createMissingKeys });
    // Asked for organization's URL at the first call: in the all-in-one process it starts after identity.
    const organizations = remoteOrganizationDirectory(
      organizationClient({ url: () => context.peerUrl('organization'), signingKey: keys.signingKey, logger }),
    );
    const services = createIdentityServices({
      db: context.database(),
      store: context.store,
      logger,
      config,
      keys,
      organizations,
    });
    const subgraph = createSubgraph(
      {
        ...identitySchema,
        createContext: (base) => createIdentityContext(base, services),
        routes: jwksRoutes(keys),
        internalRoutes: [apiKeyVerifyRoute(services.apiKeys)],
        jobs: [
          {
            name: 'mail-retry',
            intervalMs: config.MAIL_RETRY_SECONDS * 1000,
            run: async () => {
              await services.mailer.retryPending();
            },
          },
          securityStateJob({
            owner: 'identity',
            store: context.store,
            load: () => identitySecurityState(context.database().prisma, config.ACCESS_TOKEN_TTL_SECONDS),
            logger,
          }),
        ],
      },
      subgraphDeps(context, { database: true }),
    );
    return {
      ...subgraph,
      async stop() {
        await subgraph.stop();
        organizations.close();
      },
    };
  },
});
