// requestPasswordReset must not tell, by how long it takes, whether an address has an account: the answer comes
// no sooner than a floor well above the work (a lookup; for a known address a token, an audit row and a queued
// mail), so known and unknown addresses answer in the same time. Measured on the subgraph harness (identity and
// organization on a fresh database), interleaved so that drift in machine load affects both series alike.
import {
  type Harness,
  outbox,
  registerAndVerify,
  REQUEST_PASSWORD_RESET,
  run,
  type SubgraphClient,
} from '@g3d/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MAIL_ANSWER_FLOOR_MS } from '../src/modules/registration/registration.service.ts';
import { GOOD_PASSWORD, startIdentity } from './support.ts';

const SAMPLES = 30;
/** Each known address may ask for 3 reset mails an hour: 10 of them carry the 30 known-address samples. */
const KNOWN_ADDRESSES = 10;

let harness: Harness;
let anonymous: SubgraphClient;
beforeAll(async () => {
  harness = await startIdentity();
  anonymous = harness.as(undefined, { service: 'identity' });
});
afterAll(() => harness?.close());

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

describe('requestPasswordReset timing', () => {
  it('answers a known and an unknown address in the same time (medians of 30 within 0.7–1.4)', async () => {
    const known = Array.from({ length: KNOWN_ADDRESSES }, (_, i) => `timing.known${i}@reset.example`);
    for (const email of known) await registerAndVerify(harness, email, GOOD_PASSWORD);
    let unknownCount = 0;
    const unknownAddress = () => `timing.unknown${++unknownCount}@reset.example`;
    const time = async (email: string) => {
      const start = performance.now();
      const result = await run(anonymous, REQUEST_PASSWORD_RESET, { email });
      const elapsed = performance.now() - start;
      expect(result).toEqual({ status: 200, data: { requestPasswordReset: true } });
      return elapsed;
    };
    // Warm both paths (prepared statements, the first transaction); the warm-up address gets no more samples.
    const warmKnown = 'timing.warm@reset.example';
    await registerAndVerify(harness, warmKnown, GOOD_PASSWORD);
    await time(warmKnown);
    await time(unknownAddress());

    const unknown: number[] = [];
    const knownTimes: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      unknown.push(await time(unknownAddress()));
      knownTimes.push(await time(known[i % KNOWN_ADDRESSES] as string));
    }
    const [mu, mk] = [median(unknown), median(knownTimes)];
    console.log(
      `requestPasswordReset timing (${harness.database.kind}): median unknown ${mu.toFixed(1)} ms, ` +
        `median known ${mk.toFixed(1)} ms, ratio ${(mk / mu).toFixed(2)} (floor ${MAIL_ANSWER_FLOOR_MS} ms)`,
    );
    expect(mk / mu).toBeGreaterThan(0.7);
    expect(mk / mu).toBeLessThan(1.4);
    // Every answer waited for the floor.
    expect(Math.min(...unknown, ...knownTimes)).toBeGreaterThanOrEqual(MAIL_ANSWER_FLOOR_MS - 1);

    // The work still happened, durably, before the answer: each known address has its 3 reset mails in the
    // outbox, the unknown ones none.
    for (const email of known) {
      expect((await outbox(harness, email)).filter((m) => m.kind === 'reset_password')).toHaveLength(3);
    }
    expect(await outbox(harness, 'timing.unknown1@reset.example')).toEqual([]);
  });
});
