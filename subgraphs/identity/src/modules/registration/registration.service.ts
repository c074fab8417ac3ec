// Registration with email verification, and password reset. Neither flow reveals whether an address has an
// account: the answer is the same, and an existing address gets a notice mail instead of a new account. Nor does
// the time of the answer: requestPasswordReset and resendVerification answer no sooner than a floor well above
// their work, and queue their mail in the outbox (durable, in the transaction of the token) to be sent after the
// answer, so an SMTP exchange never shows in it. Every request that sends mail is limited per address and per
// client IP (MAIL_IP_LIMIT, shared with organization's invitations).
import { setTimeout as sleep } from 'node:timers/promises';

import { type ClientInfo, MAIL_IP_WINDOW_MS, mailRequestsFromIpKey, randomSecret, sha256 } from '@g3d/auth';
import type { Db, PrismaClient, Tx } from '@g3d/db';
import { AppError, badUserInput } from '@g3d/errors';
import { cleanSecret, type Logger, normalizeEmail } from '@g3d/kit';
import type { Mailer, OutgoingMail } from '@g3d/mail';
import type { AtomicStep, Store } from '@g3d/store';

import type { AuditLog } from '../audit/audit.service.ts';
import { hashPassword } from '../auth/passwords.ts';
import {
  emailAlreadyRegisteredMail,
  passwordChangedMail,
  resetPasswordMail,
  verifyEmailMail,
} from '../mail/templates.ts';
import type { PasswordPolicy } from '../passwords/policy.ts';
import type { SessionService } from '../sessions/sessions.service.ts';
import { cleanName } from '../shared/input.ts';
import type { UsersRepository } from '../users/users.repository.ts';

const VERIFY_TTL_MS = 24 * 60 * 60_000;
const RESET_TTL_MS = 30 * 60_000;
/** Mails per address per hour (resend, reset): enough for a person, useless for flooding. */
const MAILS_PER_HOUR = 3;
const MAIL_WINDOW_MS = 60 * 60_000;
/**
 * requestPasswordReset and resendVerification answer no sooner than this after their limits passed, whether or
 * not the address has an account: their work (a lookup; for a known address a token, an audit row and a queued
 * mail in one transaction) takes a few to a few tens of milliseconds.
 */
export const MAIL_ANSWER_FLOOR_MS = 150;

/** Runs `work` and answers no sooner than `floorMs` from now (a failure answers at once: it reveals nothing). */
async function notBefore<T>(floorMs: number, work: () => Promise<T>): Promise<T> {
  const [result] = await Promise.all([work(), sleep(floorMs)]);
  return result;
}

export const REGISTRATION_MESSAGE =
  'Thanks! If this address can be registered, a confirmation link is on its way. Check your inbox.';

export interface RegisterInput {
  email: string;
  password: string;
  firstName: string;
  lastName: string;
  displayName?: string | null;
  acceptTerms: boolean;
  acceptPrivacyPolicy: boolean;
  gdprConsent: boolean;
}

type Purpose = 'verify_email' | 'reset_password';

export class RegistrationService {
  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      users: UsersRepository;
      sessions: SessionService;
      audit: AuditLog;
      mailer: Mailer;
      store: Store;
      policy: PasswordPolicy;
      /** Base URL of the web app that handles /verify-email and /reset-password links. */
      appUrl: string;
      /** Requests that send mail per client IP per hour (MAIL_IP_LIMIT). */
      mailIpLimit: number;
      logger: Logger;
    },
  ) {}

  async register(input: RegisterInput, client: ClientInfo): Promise<string> {
    const email = normalizeEmail(input.email);
    const firstName = cleanName(input.firstName, 'firstName', { required: true });
    const lastName = cleanName(input.lastName, 'lastName', { required: true });
    const displayName =
      cleanName(input.displayName ?? '', 'displayName') || [...`${firstName} ${lastName}`].slice(0, 100).join('');
    if (!input.acceptTerms) throw badUserInput('The terms of service must be accepted', 'acceptTerms');
    if (!input.acceptPrivacyPolicy) throw badUserInput('The privacy policy must be accepted', 'acceptPrivacyPolicy');
    const problem = this.deps.policy.check(input.password, { email, names: [firstName, lastName, displayName] });
    if (problem) throw badUserInput(problem.message, 'password');
    await this.limitMails(`register:${email}`, client.ip);
    // Hash before looking the address up: both paths cost the same time.
    const passwordHash = await hashPassword(input.password);
    const now = new Date();
    // The account, its verification token, the audit row and the mail commit together: a crash cannot leave an
    // account without its mail (nor a mail without its account).
    const mail = await this.deps.prisma
      .$transaction(async (tx) => {
        const existing = await tx.user.findUnique({ where: { email }, select: { id: true, emailVerified: true } });
        if (existing) return this.existingAddress(tx, email, existing, client);
        const user = await this.deps.users.create(
          {
            email,
            passwordHash,
            firstName,
            lastName,
            displayName,
            gdprConsent: input.gdprConsent,
            gdprConsentAt: input.gdprConsent ? now : null,
            termsAcceptedAt: now,
            privacyAcceptedAt: now,
          },
          tx,
        );
        const token = await this.createToken(user.id, 'verify_email', VERIFY_TTL_MS, tx);
        await this.deps.audit.record({ type: 'user.registered', userId: user.id, client }, tx);
        const message = verifyEmailMail({ to: email, link: this.link('verify-email', token), expiresInHours: 24 });
        await this.deps.mailer.enqueue(tx, message);
        return message;
      })
      .catch((error: unknown) => {
        // Two registrations of one new address at once: the loser sees the unique constraint (the winner mails).
        if ((error as { code?: string }).code === 'P2002') return null;
        throw error;
      });
    if (mail) this.sendQueued(mail);
    return REGISTRATION_MESSAGE;
  }

  /**
   * Registering an address that has an account: an unverified one gets a fresh verification link (the first
   * mail may have been lost — a retried registration must let the person in); a verified one gets the "already
   * registered" notice. Same answer to the caller either way.
   */
  private async existingAddress(
    tx: Tx,
    email: string,
    user: { id: string; emailVerified: boolean },
    client: ClientInfo,
  ): Promise<OutgoingMail> {
    await this.deps.audit.record({ type: 'user.registration_existing_email', userId: user.id, client }, tx);
    const message = user.emailVerified
      ? emailAlreadyRegisteredMail({ to: email, loginLink: this.link('login'), resetLink: this.link('reset-password') })
      : verifyEmailMail({
          to: email,
          link: this.link('verify-email', await this.createToken(user.id, 'verify_email', VERIFY_TTL_MS, tx)),
          expiresInHours: 24,
        });
    await this.deps.mailer.enqueue(tx, message);
    return message;
  }

  async verifyEmail(rawToken: string, client: ClientInfo): Promise<void> {
    const userId = await this.consumeToken(cleanSecret(rawToken, 'token'), 'verify_email', async (tx, id) => {
      await tx.user.update({ where: { id }, data: { emailVerified: true, emailVerifiedAt: new Date() } });
      await this.deps.audit.record({ type: 'user.email_verified', userId: id, client }, tx);
    });
    if (!userId) throw badUserInput('Invalid or expired verification link', 'token');
  }

  async resendVerification(rawEmail: string, client: ClientInfo): Promise<void> {
    const email = normalizeEmail(rawEmail);
    await this.limitMails(`resend:${email}`, client.ip);
    const mail = await notBefore(MAIL_ANSWER_FLOOR_MS, async () => {
      const user = await this.deps.users.findByEmail(email);
      if (!user || user.emailVerified) return null;
      return this.deps.prisma.$transaction(async (tx) => {
        const token = await this.createToken(user.id, 'verify_email', VERIFY_TTL_MS, tx);
        const message = verifyEmailMail({ to: email, link: this.link('verify-email', token), expiresInHours: 24 });
        await this.deps.mailer.enqueue(tx, message);
        return message;
      });
    });
    if (mail) this.sendQueued(mail);
  }

  async requestPasswordReset(rawEmail: string, client: ClientInfo): Promise<void> {
    const email = normalizeEmail(rawEmail);
    await this.limitMails(`reset:${email}`, client.ip);
    const mail = await notBefore(MAIL_ANSWER_FLOOR_MS, async () => {
      const user = await this.deps.users.findByEmail(email);
      if (!user) return null;
      return this.deps.prisma.$transaction(async (tx) => {
        const token = await this.createToken(user.id, 'reset_password', RESET_TTL_MS, tx);
        await this.deps.audit.record({ type: 'password.reset_requested', userId: user.id, client }, tx);
        const message = resetPasswordMail({
          to: email,
          link: this.link('reset-password', token),
          expiresInMinutes: 30,
        });
        await this.deps.mailer.enqueue(tx, message);
        return message;
      });
    });
    if (mail) this.sendQueued(mail);
  }

  async resetPassword(input: { token: string; newPassword: string }, client: ClientInfo): Promise<void> {
    const token = cleanSecret(input.token, 'token');
    const tokenRow = await this.deps.prisma.userToken.findUnique({
      where: { tokenHash: sha256(token) },
      include: { user: { select: { email: true, firstName: true, lastName: true, displayName: true } } },
    });
    // The token first: an unknown, spent, expired or foreign token is refused before any hashing (argon2 costs
    // tens of milliseconds of CPU; anonymous callers must not be able to buy it).
    if (!usable(tokenRow, 'reset_password')) throw invalidResetLink();
    // Then the new password, before spending the token, so a weak choice does not burn the link.
    const { email, firstName, lastName, displayName } = tokenRow.user;
    const problem = this.deps.policy.check(input.newPassword, { email, names: [firstName, lastName, displayName] });
    if (problem) throw badUserInput(problem.message, 'newPassword');
    const passwordHash = await hashPassword(input.newPassword);
    // Spent atomically: of concurrent resets with one token, one wins.
    const userId = await this.consumeToken(token, 'reset_password', async (tx, id) => {
      await tx.user.update({ where: { id }, data: { passwordHash, passwordChangedAt: new Date() } });
      await this.deps.audit.record({ type: 'password.reset', userId: id, client }, tx);
    });
    if (!userId) throw invalidResetLink();
    await this.deps.sessions.revokeAll(userId, 'password_reset');
    const user = await this.deps.users.findById(userId);
    if (user) await this.deps.mailer.send(passwordChangedMail({ to: user.email }));
  }

  /**
   * After the answer: with SMTP, sends the mail just queued (and anything else pending: the retry job's batch,
   * claimed so no replica sends one twice); without, it stays in the outbox, the development mailbox.
   */
  private sendQueued(mail: OutgoingMail): void {
    const { mailer, logger } = this.deps;
    if (!mailer.hasTransport) {
      logger.info(
        { to: mail.to, subject: mail.subject, text: mail.text },
        'mail (no SMTP configured: kept in the outbox)',
      );
      return;
    }
    void mailer.retryPending().catch((error: unknown) => {
      logger.warn({ err: error }, 'sending queued mail failed; the retry job will');
    });
  }

  private async createToken(userId: string, purpose: Purpose, ttlMs: number, db: Db = this.deps.prisma) {
    const token = randomSecret();
    await db.userToken.create({
      data: { userId, purpose, tokenHash: sha256(token), expiresAt: new Date(Date.now() + ttlMs) },
    });
    return token;
  }

  /**
   * Spends a single-use token and applies `effect` in the same transaction. The conditional update makes
   * the token usable once even under concurrent use. Returns the user id, or null when invalid.
   */
  private async consumeToken(
    token: string,
    purpose: Purpose,
    effect: (tx: Tx, userId: string) => Promise<void>,
  ): Promise<string | null> {
    const tokenHash = sha256(token);
    return this.deps.prisma.$transaction(async (tx) => {
      const row = await tx.userToken.findUnique({ where: { tokenHash } });
      if (!usable(row, purpose)) return null;
      const spent = await tx.userToken.updateMany({
        where: { id: row.id, usedAt: null },
        data: { usedAt: new Date() },
      });
      if (spent.count !== 1) return null;
      await effect(tx, row.userId);
      return row.userId;
    });
  }

  /** One atomic store call: the client IP's hourly budget (when the gateway told the IP), then the address's. */
  private async limitMails(key: string, ip: string): Promise<void> {
    const steps: AtomicStep[] = [{ incr: `mail-limit:${key}`, ttlMs: MAIL_WINDOW_MS, max: MAILS_PER_HOUR }];
    if (ip) {
      const perIp = { incr: mailRequestsFromIpKey(ip), ttlMs: MAIL_IP_WINDOW_MS, max: this.deps.mailIpLimit };
      steps.unshift({ ...perIp, undo: true });
    }
    const { refused } = await this.deps.store.atomic(steps);
    if (!refused) return;
    const retryAfterSeconds = Math.max(1, Math.ceil((refused.ttlMs ?? MAIL_WINDOW_MS) / 1000));
    if (ip && refused.step === 0) {
      throw new AppError('RATE_LIMITED', 'Too many requests sending mail from your network; try again later', {
        reason: 'MAIL_IP_LIMIT',
        retryAfterSeconds,
      });
    }
    throw new AppError('RATE_LIMITED', 'Too many mails requested for this address; try again later', {
      retryAfterSeconds,
    });
  }

  private link(path: string, token?: string): string {
    const url = new URL(path, this.deps.appUrl.endsWith('/') ? this.deps.appUrl : `${this.deps.appUrl}/`);
    if (token) url.searchParams.set('token', token);
    return url.toString();
  }
}

/** A link token that can still be spent for `purpose`. */
function usable<T extends { purpose: string; usedAt: Date | null; expiresAt: Date }>(
  row: T | null,
  purpose: Purpose,
): row is T {
  return row !== null && row.purpose === purpose && !row.usedAt && row.expiresAt.getTime() > Date.now();
}

const invalidResetLink = () => badUserInput('Invalid or expired reset link', 'token');
