// The upstream protocol every AI wrapper speaks (docs/adr/0008-ai-service-wrappers.md): `POST /{slug}/v1/{operation}`
// with a JSON body, answered 200 with the result's JSON, or 4xx/5xx with `{ error: { code, message } }`;
// `GET /{slug}/health`. Binary inputs arrive as base64 strings. Operations are pure and deterministic: the same
// input gives the same result, so a wrapper may retry them.
import type { z } from 'zod';

/** A refusal the caller can act on (bad input, too large, unsupported): answered with `status` and `code`. */
export class UpstreamError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 422,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

export interface OperationContext {
  /** Aborted when the caller goes away (the wrapper cancelled): long work checks it and stops. */
  signal: AbortSignal;
}

export interface Operation<I extends z.ZodType = z.ZodType> {
  /** The body's shape; a body that does not match is answered 400 INVALID_INPUT naming the path. */
  input: I;
  run(input: z.output<I>, context: OperationContext): Promise<unknown> | unknown;
}

/** One service's operations by name (the `{operation}` of the path). */
export type ServiceOperations = Record<string, Operation>;

export function operation<I extends z.ZodType>(
  input: I,
  run: (input: z.output<I>, context: OperationContext) => Promise<unknown> | unknown,
): Operation<I> {
  return { input, run };
}

/** Throws ABORTED when the caller has gone (call between chunks of long work). */
export function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new UpstreamError('ABORTED', 'The caller cancelled the operation', 499);
}

/** Decodes a base64 input, refusing what is not base64 or exceeds `maxBytes` (checked before decoding). */
export function decodeBase64(value: string, maxBytes: number, what = 'input'): Buffer {
  if (Math.floor((value.length * 3) / 4) > maxBytes + 2) {
    throw new UpstreamError('INPUT_TOO_LARGE', `The ${what} is larger than ${maxBytes} bytes`, 413);
  }
  if (!/^[A-Za-z0-9+/\r\n]*={0,2}$/.test(value)) {
    throw new UpstreamError('INVALID_INPUT', `The ${what} is not base64`, 400);
  }
  return Buffer.from(value, 'base64');
}
