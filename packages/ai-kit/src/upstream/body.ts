// Reading HTTP bodies into memory without trusting their size.
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

/** The body's bytes, or null once it passes `maxBytes` (the stream is destroyed, so the rest is never read). */
export async function readCapped(body: Readable, maxBytes: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) {
      discard(body);
      return null;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/** Stops reading a body. undici reports a body destroyed before its end as an error; nobody needs it. */
export function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

/** The declared Content-Length, when there is a valid one (lets an oversized body be refused unread). */
export function declaredLength(headers: IncomingHttpHeaders): number | null {
  const value = headers['content-length'];
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return null;
  return Number(value);
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | null {
  const value = headers[name];
  if (Array.isArray(value)) return value[0] ?? null;
  return value ?? null;
}
