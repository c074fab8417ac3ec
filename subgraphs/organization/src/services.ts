// Organization's composition root: the repositories and services one process shares across requests, built
// once from the database, the shared store and the settings.
import type { Database } from '@g3d/db';
import { readPlanLimits } from '@g3d/entitlement-client';
import { Idempotency, type Logger } from '@g3d/kit';
import { createSmtpTransport, Mailer } from '@g3d/mail';
import type { Store } from '@g3d/store';

import { OrganizationAuditLog } from './modules/audit/organization-audit.ts';
import { InvitationsRepository } from './modules/invitations/invitations.repository.ts';
import { InvitationsService } from './modules/invitations/invitations.service.ts';
import { MailIpLimit } from './modules/invitations/mail-ip-limit.ts';
import { MembershipsRepository } from './modules/memberships/memberships.repository.ts';
import { MembershipsService } from './modules/memberships/memberships.service.ts';
import { UserErasure } from './modules/memberships/user-erasure.ts';
import { AuthorizationChanges } from './modules/organizations/authorization-changes.ts';
import { OrganizationLock } from './modules/organizations/organization-lock.ts';
import { OrganizationsRepository } from './modules/organizations/organizations.repository.ts';
import { OrganizationsService } from './modules/organizations/organizations.service.ts';

export interface OrganizationOptions {
  /** Base URL of the web app: invitation links point there. */
  appUrl: string;
  smtpUrl?: string | undefined;
  mailFrom?: string | undefined;
  /** How long identity's access tokens live: how long an authorization change must be remembered. */
  accessTokenTtlSeconds: number;
  /** Requests that send mail per client IP per hour (MAIL_IP_LIMIT, a budget shared with identity). */
  mailIpLimit: number;
}

export interface OrganizationServices {
  repos: {
    organizations: OrganizationsRepository;
    memberships: MembershipsRepository;
    invitations: InvitationsRepository;
  };
  audit: OrganizationAuditLog;
  organizations: OrganizationsService;
  memberships: MembershipsService;
  invitations: InvitationsService;
  erasure: UserErasure;
  /** Authorization changes: recorded with each change, told to the gateway through the store. */
  changes: AuthorizationChanges;
}

export function createOrganizationServices(
  db: Database,
  store: Store,
  options: OrganizationOptions,
  logger: Logger,
): OrganizationServices {
  const repos = {
    organizations: new OrganizationsRepository(db.prisma),
    memberships: new MembershipsRepository(db.prisma, db.query),
    invitations: new InvitationsRepository(db.prisma),
  };
  const audit = new OrganizationAuditLog(db.prisma);
  const changes = new AuthorizationChanges(store, options.accessTokenTtlSeconds, db.prisma);
  const lock = new OrganizationLock(db.prisma, repos.organizations, repos.memberships, changes);
  const transport = options.smtpUrl
    ? createSmtpTransport(options.smtpUrl, options.mailFrom ?? 'G3D Platform <no-reply@g3d.local>')
    : null;
  return {
    repos,
    audit,
    organizations: new OrganizationsService({
      prisma: db.prisma,
      idempotency: new Idempotency(db.prisma, 'organization'),
      lock,
      organizations: repos.organizations,
      invitations: repos.invitations,
      audit,
    }),
    memberships: new MembershipsService(lock, repos.memberships, audit),
    invitations: new InvitationsService({
      lock,
      invitations: repos.invitations,
      memberships: repos.memberships,
      audit,
      mailer: new Mailer(db.prisma, transport, logger),
      appUrl: options.appUrl,
      mailLimit: new MailIpLimit(store, options.mailIpLimit),
      planLimits: (organizationId) => readPlanLimits(store, organizationId),
    }),
    erasure: new UserErasure({ ...repos, audit, changes }),
    changes,
  };
}
