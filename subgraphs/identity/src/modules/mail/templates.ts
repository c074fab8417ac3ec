// Plain-text account mails. Links (with their single-use tokens) are built by the caller; these only word the mail.
import { checkLink, type MailMessage, plural, PRODUCT, SIGNATURE } from '@g3d/mail';

export type MailKind = 'verify_email' | 'email_exists' | 'reset_password' | 'password_changed' | 'mfa_locked';

export type AccountMail = MailMessage & { kind: MailKind };

export function verifyEmailMail({
  to,
  link,
  expiresInHours,
}: {
  to: string;
  link: string;
  expiresInHours: number;
}): AccountMail {
  return {
    kind: 'verify_email',
    to,
    subject: `Confirm your email address for ${PRODUCT}`,
    text:
      `Hello,\n\n` +
      `To finish creating your ${PRODUCT} account, confirm your email address by opening this link:\n\n` +
      `${checkLink(link)}\n\n` +
      `The link expires in ${plural(expiresInHours, 'hour')} and can be used once.\n\n` +
      `If you did not create a ${PRODUCT} account, ignore this message: the account will not be activated.` +
      SIGNATURE,
  };
}

/** Sent instead of a verification mail when someone registers an email that already has an account (no enumeration). */
export function emailAlreadyRegisteredMail({
  to,
  loginLink,
  resetLink,
}: {
  to: string;
  loginLink: string;
  resetLink: string;
}): AccountMail {
  return {
    kind: 'email_exists',
    to,
    subject: `Your ${PRODUCT} account`,
    text:
      `Hello,\n\n` +
      `Someone, probably you, tried to create a ${PRODUCT} account with this email address, ` +
      `but an account with this address already exists.\n\n` +
      `To sign in, open:\n\n${checkLink(loginLink)}\n\n` +
      `If you forgot your password, you can choose a new one here:\n\n${checkLink(resetLink)}\n\n` +
      `If it was not you, ignore this message: nothing has changed in your account.` +
      SIGNATURE,
  };
}

export function resetPasswordMail({
  to,
  link,
  expiresInMinutes,
}: {
  to: string;
  link: string;
  expiresInMinutes: number;
}): AccountMail {
  return {
    kind: 'reset_password',
    to,
    subject: `Reset your ${PRODUCT} password`,
    text:
      `Hello,\n\n` +
      `We received a request to reset the password of your ${PRODUCT} account. To choose a new password, open:\n\n` +
      `${checkLink(link)}\n\n` +
      `The link expires in ${plural(expiresInMinutes, 'minute')} and can be used once.\n\n` +
      `If you did not ask for this, ignore this message: your password stays as it is.` +
      SIGNATURE,
  };
}

export function passwordChangedMail({ to }: { to: string }): AccountMail {
  return {
    kind: 'password_changed',
    to,
    subject: `Your ${PRODUCT} password was changed`,
    text:
      `Hello,\n\n` +
      `The password of your ${PRODUCT} account was just changed.\n\n` +
      `If you did this, there is nothing else to do.\n\n` +
      `If you did not, someone else may have access to your account: reset your password right away ` +
      `with "Forgot password" on the sign-in page, and contact support.` +
      SIGNATURE,
  };
}

/** Too many wrong second-factor codes: whoever entered them knew the password (mfa.service.ts). */
export function secondFactorLockedMail({
  to,
  lockedForMinutes,
}: {
  to: string;
  lockedForMinutes: number;
}): AccountMail {
  return {
    kind: 'mfa_locked',
    to,
    subject: `Two-factor sign-in to your ${PRODUCT} account is locked`,
    text:
      `Hello,\n\n` +
      `Too many wrong two-factor codes were entered for your ${PRODUCT} account, so two-factor sign-in is locked ` +
      `for ${plural(lockedForMinutes, 'minute')}. Even the right code is refused until then.\n\n` +
      `Codes are only asked for after the right password. If this was not you, someone knows your password: ` +
      `change it right away (or choose a new one with "Forgot password" on the sign-in page), and contact support.` +
      SIGNATURE,
  };
}
