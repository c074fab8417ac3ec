// Invitations: an organization's invitations (administrators), inviting, resending, revoking and accepting.
import { isAuthenticated, isSignedInUser } from '@g3d/auth';
import type { Invitation, Organization } from '@g3d/db';
import { notFound } from '@g3d/errors';
import { defineModule, isUuid, loadSdl, pageSize } from '@g3d/kit';

import type { OrganizationContext } from '../../context.ts';
import { actorOf, callerId, orgAdmins, requireVisible } from '../organizations/access.ts';
import type { InvitationStatus } from './invitations.repository.ts';
import { invitationStatus, MAX_INVITATION_PAGE } from './invitations.service.ts';

const requireInvitationId = (id: string) => {
  if (!isUuid(id)) throw notFound('No such invitation');
  return id;
};

type InviteArgs = { input: { organizationId: string; email: string; roles?: string[] | null } };

export const invitationsModule = defineModule<OrganizationContext>({
  name: 'invitations',
  typeDefs: loadSdl(import.meta.url, './schema.graphql'),
  rules: {
    // Authorized against the locked member list inside each change (a person, not an API key).
    Mutation: {
      inviteMember: isSignedInUser,
      resendInvitation: isSignedInUser,
      revokeInvitation: isSignedInUser,
      acceptInvitation: isSignedInUser,
    },
    Organization: { invitations: orgAdmins },
    // Reachable only through Organization.invitations and mutation results, which are guarded.
    Invitation: isAuthenticated,
  },
  resolvers: {
    Mutation: {
      inviteMember: async (_p, { input }: InviteArgs, ctx) => {
        await requireVisible(ctx, input.organizationId);
        return ctx.services.invitations.invite(actorOf(ctx), input, ctx.client);
      },
      resendInvitation: (_p, { id }: { id: string }, ctx) =>
        ctx.services.invitations.resend(actorOf(ctx), requireInvitationId(id), ctx.client),
      revokeInvitation: (_p, { id }: { id: string }, ctx) =>
        ctx.services.invitations.revoke(actorOf(ctx), requireInvitationId(id)),
      acceptInvitation: async (_p, { token }: { token: string }, ctx) => {
        const membership = await ctx.services.invitations.accept(
          { userId: callerId(ctx), email: ctx.caller.email },
          token,
        );
        ctx.changed({ userIds: [callerId(ctx)], organizationId: membership.organizationId });
        return membership;
      },
    },
    Organization: {
      invitations: (org: Organization, args: { status: InvitationStatus; first?: number | null }, ctx) =>
        ctx.services.invitations.list(
          org.id,
          args.status,
          pageSize(args.first, { max: MAX_INVITATION_PAGE, default: 100 }),
        ),
    },
    Invitation: {
      organization: (i: Invitation, _args, ctx) => ctx.organizations.load(i.organizationId),
      status: (i: Invitation) => invitationStatus(i),
      invitedBy: (i: Invitation) => ({ __typename: 'User', id: i.invitedBy }),
    },
  },
});
