// Organizations: reading one the caller belongs to, creating, updating and deleting.
import { isAuthenticated, isSignedInUser } from '@g3d/auth';
import type { Organization } from '@g3d/db';
import { defineModule, isUuid, loadSdl } from '@g3d/kit';

import type { OrganizationContext } from '../../context.ts';
import { actorOf, callerId, orgAdmins, orgMembers, requireVisible, visible } from './access.ts';
import { readSettings } from './organization-input.ts';
import type { CreateOrganizationInput, UpdateOrganizationInput } from './organizations.service.ts';

export const organizationsModule = defineModule<OrganizationContext>({
  name: 'organizations',
  typeDefs: loadSdl(import.meta.url, './schema.graphql'),
  rules: {
    Query: { organization: isAuthenticated, organizationBySlug: isAuthenticated },
    // Every mutation authorizes against the locked member list inside its transaction (a person, not an API key).
    Mutation: {
      createOrganization: isSignedInUser,
      updateOrganization: isSignedInUser,
      deleteOrganization: isSignedInUser,
    },
    Organization: {
      '*': orgMembers,
      billingEmail: orgAdmins,
      billingAddress: orgAdmins,
      taxId: orgAdmins,
    },
    // Reachable only through Organization fields and mutation results, which are guarded.
    OrganizationSettings: isAuthenticated,
  },
  resolvers: {
    Query: {
      organization: async (_parent, { id }: { id: string }, ctx) =>
        isUuid(id) ? visible(ctx, await ctx.organizations.load(id)) : null,
      organizationBySlug: async (_parent, { slug }: { slug: string }, ctx) =>
        slug.length <= 64 ? visible(ctx, await ctx.services.repos.organizations.findBySlug(slug)) : null,
    },
    Mutation: {
      createOrganization: async (_parent, { input }: { input: CreateOrganizationInput }, ctx) => {
        const organization = await ctx.services.organizations.create(callerId(ctx), input, ctx.idempotencyKey);
        // The caller is its owner from now on, for the rest of this request too (a second create included).
        ctx.changed({ userIds: [callerId(ctx)], organizationId: organization.id });
        return organization;
      },
      updateOrganization: async (_parent, { id, input }: { id: string; input: UpdateOrganizationInput }, ctx) => {
        await requireVisible(ctx, id);
        const organization = await ctx.services.organizations.update(id, actorOf(ctx), input);
        ctx.changed({ organizationId: id });
        return organization;
      },
      deleteOrganization: async (_p, { id, confirmSlug }: { id: string; confirmSlug: string }, ctx) => {
        await requireVisible(ctx, id);
        await ctx.services.organizations.delete(id, callerId(ctx), confirmSlug);
        ctx.changed({ userIds: [callerId(ctx)], organizationId: id });
        return true;
      },
    },
    Organization: {
      __resolveReference: (ref: { id: string }, ctx: OrganizationContext) => ctx.organizations.load(ref.id),
      settings: (organization: Organization) => readSettings(organization.settings),
    },
  },
});
