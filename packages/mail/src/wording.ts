// What every platform mail shares: the product name, the signature, safe links.
export const PRODUCT = 'G3D';

export const SIGNATURE = `\n\n-- \nThe ${PRODUCT} team\nThis is an automated message; replies are not read.\n`;

export const plural = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? '' : 's'}`;

/** A link goes on a line of its own; anything that is not a plain http(s) URL (no spaces or line breaks) is refused. */
export function checkLink(link: string): string {
  const url = URL.canParse(link) ? new URL(link) : undefined;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || /\s/.test(link)) {
    throw new Error('Mail link must be an absolute http(s) URL');
  }
  return link;
}
