// The organization subgraph: tenants, memberships, invitations and the organization audit log; contributes
// User.organizations and User.memberships. Authorization of member-level changes happens inside the locked
// transaction (memberships.service.ts), where the member list cannot change under it.
import {
  type AuthContext,
  callerIsPlatformAdmin,
  isAuthenticated,
  isPlatformAdmin,
  isPublic,
  isSelf,
  isSignedInUser,
  or,
  rule,
} from '@g3d/auth';
import type { Database, Invitation, Membership, Organization, OrganizationAuditEvent } from '@g3d/db';
import { badUserInput, forbidden, notFound, unauthenticated } from '@g3d/errors';
import {
  createSubgraph,
  type DataLoader,
  DateTime,
  JSONScalar,
  loadSdl,
  manyByKey,
  oneByKey,
  onlyFrom,
  type SubgraphDefinition,
  type SubgraphDeps,
} from '@g3d/kit';
import { createSmtpTransport, Mailer } from '@g3d/mail';
import type { Store } from '@g3d/store';

import { MAX_AUDIT_PAGE, OrganizationAuditLog } from './modules/audit/organization-audit.ts';
import {
  InvitationsService,
  type InvitationStatus,
  invitationStatus,
  MAX_INVITATION_PAGE,
} from './modules/invitations/invitations.service.ts';
import { AuthorizationChanges } from './modules/organizations/authorization-changes.ts';
import { ADMIN_ROLES, MembershipsService } from './modules/organizations/memberships.service.ts';
import { readSettings } from './modules/organizations/organization-input.ts';
import {
  memberCursor,
  OrganizationsRepository,
  parseMemberCursor,
} from './modules/organizations/organizations.repository.ts';
import {
  type CreateOrganizationInput,
  OrganizationsService,
  type UpdateOrganizationInput,
} from './modules/organizations/organizations.service.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const MAX_MEMBER_PAGE = 1000;

export interface OrganizationOptions {
  /** Base URL of the web app: invitation links point there. */
  appUrl: string;
  smtpUrl?: string | undefined;
  mailFrom?: string | undefined;
  /** How long identity's access tokens live: how long an authorization change must be remembered. */
  accessTokenTtlSeconds: number;
}

interface OrganizationContext extends AuthContext {
  organizations: DataLoader<string, Organization | null>;
  membershipsOfUser: DataLoader<string, Membership[]>;
  memberCounts: DataLoader<string, { organizationId: string; count: number } | null>;
  /** The first N members of organizations, one loader per page size N. */
  firstMembers: (first: number) => DataLoader<string, Membership[]>;
}

export const organizationTypeDefs = loadSdl(import.meta.url, './schema.graphql');

/** The caller is a member of the parent organization (or a platform admin). Parent-dependent: never cached. */
const isMemberOfParentOrganization = rule({ cache: 'no_cache' })(async (
  parent: { id: string },
  _args,
  ctx: OrganizationContext,
) => {
  if (ctx.caller.kind === 'anonymous' || !ctx.caller.userId) return unauthenticated();
  return (await rolesIn(ctx, parent.id)).length > 0 || forbidden('Not a member of this organization');
});

/** The caller is an owner or admin of the parent organization. Parent-dependent: never cached. */
const isAdminOfParentOrganization = rule({ cache: 'no_cache' })(async (
  parent: { id: string },
  _args,
  ctx: OrganizationContext,
) => {
  if (!ctx.caller.userId) return unauthenticated();
  return (
    (await rolesIn(ctx, parent.id)).some((r) => ADMIN_ROLES.has(r)) || forbidden('Organization administrators only')
  );
});

/** The caller's roles in an organization, from the database (the authority; tokens may be a moment old). */
async function rolesIn(ctx: OrganizationContext, organizationId: string): Promise<string[]> {
  if (!ctx.caller.userId) return [];
  const memberships = await ctx.membershipsOfUser.load(ctx.caller.userId);
  return memberships.find((m) => m.organizationId === organizationId)?.roles ?? [];
}

/** An organization the caller may see: a member, or a platform admin. Anything else looks like no organization. */
async function visible(ctx: OrganizationContext, organization: Organization | null): Promise<Organization | null> {
  if (!organization) return null;
  if (callerIsPlatformAdmin(ctx.caller)) return organization;
  return (await rolesIn(ctx, organization.id)).length > 0 ? organization : null;
}

const orgAdmins = or(isAdminOfParentOrganization, isPlatformAdmin);

export const organizationPermissions = {
  Query: {
    organization: isAuthenticated,
    organizationBySlug: isAuthenticated,
    _service: isPublic,
    _entities: isPublic,
  },
  // Every mutation authorizes against the locked member list inside its transaction (a person, not an API key).
  Mutation: {
    createOrganization: isSignedInUser,
    updateOrganization: isSignedInUser,
    deleteOrganization: isSignedInUser,
    transferOwnership: isSignedInUser,
    changeMemberRoles: isSignedInUser,
    removeMember: isSignedInUser,
    leaveOrganization: isSignedInUser,
    inviteMember: isSignedInUser,
    resendInvitation: isSignedInUser,
    revokeInvitation: isSignedInUser,
    acceptInvitation: isSignedInUser,
  },
  Organization: {
    '*': or(isMemberOfParentOrganization, isPlatformAdmin),
    billingEmail: orgAdmins,
    billingAddress: orgAdmins,
    taxId: orgAdmins,
    invitations: orgAdmins,
    auditLog: orgAdmins,
  },
  // Reachable only through Organization fields and mutation results, which are guarded above.
  OrganizationSettings: isAuthenticated,
  Membership: isAuthenticated,
  Invitation: isAuthenticated,
  OrganizationAuditEvent: isAuthenticated,
  User: {
    id: isAuthenticated,
    organizations: or(isSelf(), isPlatformAdmin),
    memberships: or(isSelf(), isPlatformAdmin),
  },
  _Service: isPublic,
};

function pageSize(value: number, max: number, field = 'first'): number {
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw badUserInput(`${field} must be between 1 and ${max}`, field);
  return value;
}

export function organizationDefinition(
  db: Database,
  store: Store,
  options: OrganizationOptions,
  logger: SubgraphDeps['logger'],
): SubgraphDefinition<OrganizationContext> {
  const repo = new OrganizationsRepository(db.prisma, db.query);
  const audit = new OrganizationAuditLog(db.prisma);
  const memberships = new MembershipsService(
    db.prisma,
    audit,
    new AuthorizationChanges(store, options.accessTokenTtlSeconds),
  );
  const organizations = new OrganizationsService(repo, memberships, audit);
  const mailer = new Mailer(
    db.prisma,
    options.smtpUrl
      ? createSmtpTransport(options.smtpUrl, options.mailFrom ?? 'G3D Platform <no-reply@g3d.local>')
      : null,
    logger,
  );
  const invitations = new InvitationsService(db.prisma, memberships, audit, mailer, options.appUrl);
  const actor = (ctx: OrganizationContext) => ({
    userId: ctx.caller.userId as string,
    isPlatformAdmin: callerIsPlatformAdmin(ctx.caller),
  });
  /** Strangers get NOT_FOUND for any organization they cannot see, existing or not. */
  const requireVisible = async (ctx: OrganizationContext, id: string) => {
    const organization = UUID.test(id) ? await visible(ctx, await ctx.organizations.load(id)) : null;
    if (!organization) throw notFound('No such organization');
    return organization;
  };
  const requireUserId = (userId: string) => {
    if (!UUID.test(userId)) throw notFound('No such member');
    return userId;
  };
  const requireInvitationId = (id: string) => {
    if (!UUID.test(id)) throw notFound('No such invitation');
    return id;
  };
  return {
    name: 'organization',
    typeDefs: organizationTypeDefs,
    permissions: organizationPermissions,
    createContext: (base) => {
      const pages = new Map<number, DataLoader<string, Membership[]>>();
      return {
        caller: base.caller,
        organizations: oneByKey(
          (ids) => repo.findByIds(ids),
          (o) => o.id,
        ),
        membershipsOfUser: manyByKey(
          (ids) => repo.membershipsOfUsers(ids),
          (m) => m.userId,
        ),
        memberCounts: oneByKey(
          (ids) => repo.memberCounts(ids),
          (c) => c.organizationId,
        ),
        firstMembers: (first) => {
          let loader = pages.get(first);
          if (!loader) {
            loader = manyByKey(
              (ids) => repo.firstMembers(ids, first),
              (m) => m.organizationId,
            );
            pages.set(first, loader);
          }
          return loader;
        },
      };
    },
    internalRoutes: (router) => {
      // Identity asks which organizations users belong to, with which roles: when it issues tokens, and when an
      // organization administrator reads members' private fields.
      router.post('/memberships', onlyFrom('identity'), async (req, res, next) => {
        try {
          const userIds = (req.body as { userIds?: unknown }).userIds;
          if (
            !Array.isArray(userIds) ||
            userIds.length > MAX_MEMBER_PAGE ||
            !userIds.every((id) => typeof id === 'string' && UUID.test(id))
          ) {
            res.status(400).json({ error: `userIds must be at most ${MAX_MEMBER_PAGE} UUIDs` });
            return;
          }
          res.json({ memberships: await repo.membershipsForTokens(userIds as string[]) });
        } catch (error) {
          next(error);
        }
      });
    },
    resolvers: {
      DateTime,
      JSON: JSONScalar,
      Query: {
        organization: async (_parent, { id }: { id: string }, ctx) =>
          UUID.test(id) ? visible(ctx, await ctx.organizations.load(id)) : null,
        organizationBySlug: async (_parent, { slug }: { slug: string }, ctx) =>
          slug.length <= 64 ? visible(ctx, await repo.findBySlug(slug)) : null,
      },
      Mutation: {
        createOrganization: (_parent, { input }: { input: CreateOrganizationInput }, ctx) =>
          organizations.create(ctx.caller.userId as string, input),
        updateOrganization: async (_parent, { id, input }: { id: string; input: UpdateOrganizationInput }, ctx) => {
          await requireVisible(ctx, id);
          return organizations.update(id, actor(ctx), input);
        },
        deleteOrganization: async (_p, { id, confirmSlug }: { id: string; confirmSlug: string }, ctx) => {
          await requireVisible(ctx, id);
          await organizations.delete(id, ctx.caller.userId as string, confirmSlug);
          return true;
        },
        transferOwnership: async (_p, args: { organizationId: string; userId: string }, ctx) => {
          await requireVisible(ctx, args.organizationId);
          return memberships.transferOwnership(
            args.organizationId,
            ctx.caller.userId as string,
            requireUserId(args.userId),
          );
        },
        changeMemberRoles: async (_p, args: { organizationId: string; userId: string; roles: string[] }, ctx) => {
          await requireVisible(ctx, args.organizationId);
          return memberships.changeRoles(
            args.organizationId,
            ctx.caller.userId as string,
            requireUserId(args.userId),
            args.roles,
          );
        },
        removeMember: async (_p, args: { organizationId: string; userId: string }, ctx) => {
          await requireVisible(ctx, args.organizationId);
          await memberships.remove(args.organizationId, ctx.caller.userId as string, requireUserId(args.userId));
          return true;
        },
        leaveOrganization: async (_p, args: { organizationId: string }, ctx) => {
          await requireVisible(ctx, args.organizationId);
          await memberships.leave(args.organizationId, ctx.caller.userId as string);
          return true;
        },
        inviteMember: async (
          _p,
          { input }: { input: { organizationId: string; email: string; roles?: string[] | null } },
          ctx,
        ) => {
          await requireVisible(ctx, input.organizationId);
          return invitations.invite(actor(ctx), input);
        },
        resendInvitation: (_p, { id }: { id: string }, ctx) => invitations.resend(actor(ctx), requireInvitationId(id)),
        revokeInvitation: (_p, { id }: { id: string }, ctx) => invitations.revoke(actor(ctx), requireInvitationId(id)),
        acceptInvitation: (_p, { token }: { token: string }, ctx) =>
          invitations.accept({ userId: ctx.caller.userId as string, email: ctx.caller.email }, token),
      },
      Organization: {
        __resolveReference: (ref: { id: string }, ctx: OrganizationContext) => ctx.organizations.load(ref.id),
        settings: (organization: Organization) => readSettings(organization.settings),
        memberCount: async (org: Organization, _args, ctx) => (await ctx.memberCounts.load(org.id))?.count ?? 0,
        members: async (org: Organization, args: { first: number; after?: string | null }, ctx) => {
          const first = pageSize(args.first, MAX_MEMBER_PAGE);
          if (args.after == null) return ctx.firstMembers(first).load(org.id);
          const after = parseMemberCursor(args.after);
          if (!after) throw badUserInput('after is not a member cursor', 'after');
          return repo.membersAfter(org.id, after, first);
        },
        member: async (org: Organization, { userId }: { userId: string }, ctx) => {
          if (!UUID.test(userId)) return null;
          const of = await ctx.membershipsOfUser.load(userId);
          return of.find((m) => m.organizationId === org.id) ?? null;
        },
        invitations: (org: Organization, args: { status: InvitationStatus; first: number }) =>
          invitations.list(org.id, args.status, pageSize(args.first, MAX_INVITATION_PAGE)),
        auditLog: (org: Organization, args: { first: number; before?: Date | null }) =>
          audit.list(org.id, pageSize(args.first, MAX_AUDIT_PAGE), args.before ?? null),
      },
      Membership: {
        organization: (m: Membership, _args, ctx) => ctx.organizations.load(m.organizationId),
        user: (m: Membership) => ({ __typename: 'User', id: m.userId }),
        joinedAt: (m: Membership) => m.createdAt,
        cursor: (m: Membership) => memberCursor(m),
      },
      Invitation: {
        organization: (i: Invitation, _args, ctx) => ctx.organizations.load(i.organizationId),
        status: (i: Invitation) => invitationStatus(i),
        invitedBy: (i: Invitation) => ({ __typename: 'User', id: i.invitedBy }),
      },
      OrganizationAuditEvent: {
        actor: (e: OrganizationAuditEvent) => (e.actorId ? { __typename: 'User', id: e.actorId } : null),
        subject: (e: OrganizationAuditEvent) => (e.subjectId ? { __typename: 'User', id: e.subjectId } : null),
      },
      User: {
        __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
        organizations: async (user: { id: string }, _args, ctx) => {
          const of = await ctx.membershipsOfUser.load(user.id);
          const orgs = await ctx.organizations.loadMany(of.map((m) => m.organizationId));
          return orgs.filter((o): o is Organization => o !== null && !(o instanceof Error));
        },
        memberships: (user: { id: string }, _args, ctx) => ctx.membershipsOfUser.load(user.id),
      },
    },
  };
}

export function createOrganizationService(deps: SubgraphDeps & { db: Database }, options: OrganizationOptions) {
  return createSubgraph(organizationDefinition(deps.db, deps.store, options, deps.logger), deps);
}

/** Creates the first organization, owned by the first admin, when there are none. */
export async function seedFirstOrganization(db: Database, ownerId: string, name = 'Default Organization') {
  const repo = new OrganizationsRepository(db.prisma, db.query);
  if ((await repo.count()) > 0) return { created: false };
  await repo.createWithOwner({ name, slug: 'default', ownerId });
  return { created: true };
}
