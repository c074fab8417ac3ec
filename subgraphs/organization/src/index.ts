// The organization subgraph: tenants, memberships, invitations and the organization audit log; contributes
// User.organizations and User.memberships; serves identity's membership lookup and consumes account erasures.
// Wiring only: each module owns its SDL, rules and resolvers.
import type { Database } from '@g3d/db';
import {
  baseModule,
  createSubgraph,
  defineService,
  loadSdl,
  securityStateJob,
  subgraphDeps,
  type SubgraphSchemaDefinition,
} from '@g3d/kit';

import { organizationConfig } from './config.ts';
import { createOrganizationContext, type OrganizationContext } from './context.ts';
import { auditModule } from './modules/audit/audit.module.ts';
import { invitationsModule } from './modules/invitations/invitations.module.ts';
import { membershipsModule } from './modules/memberships/memberships.module.ts';
import { membershipsRoute } from './modules/memberships/memberships.route.ts';
import { userErasedHandler } from './modules/memberships/user-erasure.ts';
import { organizationsModule } from './modules/organizations/organizations.module.ts';
import { OrganizationsRepository } from './modules/organizations/organizations.repository.ts';
import { announceOwner } from './modules/organizations/organizations.service.ts';
import { createOrganizationServices } from './services.ts';

const base = baseModule(loadSdl(import.meta.url, './schema.graphql'));

export const organizationSchema: SubgraphSchemaDefinition<OrganizationContext> = {
  name: 'organization',
  modules: [base, organizationsModule, membershipsModule, invitationsModule, auditModule],
};

export { type OrganizationConfig, organizationConfig } from './config.ts';

export const service = defineService({
  config: organizationConfig,
  schema: () => organizationSchema,
  build(context) {
    const { config } = context;
    const services = createOrganizationServices(
      context.database(),
      context.store,
      {
        appUrl: config.APP_URL,
        smtpUrl: config.SMTP_URL,
        mailFrom: config.MAIL_FROM,
        accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
        mailIpLimit: config.MAIL_IP_LIMIT,
      },
      context.logger.child({ service: 'organization' }),
    );
    return createSubgraph(
      {
        ...organizationSchema,
        createContext: (request) => createOrganizationContext(request, services),
        internalRoutes: [membershipsRoute(services.repos.memberships)],
        consumers: [userErasedHandler(services.erasure)],
        jobs: [
          securityStateJob({
            owner: 'organization',
            store: context.store,
            load: () => services.changes.securityStateEntries(),
            logger: context.logger.child({ service: 'organization' }),
          }),
        ],
      },
      subgraphDeps(context, { database: true }),
    );
  },
});

/** Creates the first organization, owned by the first admin, when there are none. */
export async function seedFirstOrganization(db: Database, ownerId: string, name = 'Default Organization') {
  const repo = new OrganizationsRepository(db.prisma);
  if ((await repo.count()) > 0) return { created: false };
  await db.prisma.$transaction(async (tx) => {
    const organization = await repo.createWithOwner({ name, slug: 'default', ownerId }, tx);
    await announceOwner(tx, organization.id, ownerId);
  });
  return { created: true };
}
