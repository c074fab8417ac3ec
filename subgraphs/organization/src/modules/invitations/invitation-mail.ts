// The invitation mail. The link carries the single-use token; the organization name is the only other content.
import { checkLink, type MailMessage, plural, PRODUCT, SIGNATURE } from '@g3d/mail';

export function invitationMail(args: {
  to: string;
  organizationName: string;
  link: string;
  expiresInDays: number;
}): MailMessage & { kind: 'invitation' } {
  return {
    kind: 'invitation',
    to: args.to,
    subject: `You are invited to join ${args.organizationName} on ${PRODUCT}`,
    text:
      `Hello,\n\n` +
      `You have been invited to join the organization "${args.organizationName}" on ${PRODUCT}. To accept, open:\n\n` +
      `${checkLink(args.link)}\n\n` +
      `Sign in (or create your account) with this email address (${args.to}) first: the invitation is for it only. ` +
      `The link expires in ${plural(args.expiresInDays, 'day')} and can be used once.\n\n` +
      `If you do not know this organization, ignore this message.` +
      SIGNATURE,
  };
}
