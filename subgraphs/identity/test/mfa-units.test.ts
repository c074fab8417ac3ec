// Unit tests for the pure MFA building blocks: TOTP (RFC 6238 vectors, window, replay), the at-rest secret box,
// and backup codes. No database, no GraphQL.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import {
  BACKUP_CODE_ALPHABET,
  generateBackupCodes,
  hashBackupCode,
  normalizeBackupCode,
} from '../src/modules/mfa/backup-codes.ts';
import { createSecretBox, loadOrCreateSecretBoxKey, secretBoxKeyFromText } from '../src/modules/mfa/secret-box.ts';
import {
  generateTotp,
  generateTotpSecret,
  otpauthUri,
  qrCodeDataUrl,
  totpAt,
  totpTimeStep,
  verifyTotp,
} from '../src/modules/mfa/totp.ts';

describe('TOTP: RFC 6238 Appendix B test vectors', () => {
  const ascii = (n: number) => new TextEncoder().encode('1234567890'.repeat(7).slice(0, n));
  const seeds = { sha1: ascii(20), sha256: ascii(32), sha512: ascii(64) } as const;
  const vectors: [number, { sha1: string; sha256: string; sha512: string }][] = [
    [59, { sha1: '94287082', sha256: '46119246', sha512: '90693936' }],
    [1111111109, { sha1: '07081804', sha256: '68084774', sha512: '25091201' }],
    [1111111111, { sha1: '14050471', sha256: '67062674', sha512: '99943326' }],
    [1234567890, { sha1: '89005924', sha256: '91819424', sha512: '93441116' }],
    [2000000000, { sha1: '69279037', sha256: '90698825', sha512: '38618901' }],
    [20000000000, { sha1: '65353130', sha256: '77737706', sha512: '47863826' }],
  ];
  const cases = vectors.flatMap(([time, codes]) =>
    (['sha1', 'sha256', 'sha512'] as const).map((algorithm) => ({ time, algorithm, expected: codes[algorithm] })),
  );

  it('uses the RFC seeds', () => {
    expect(Buffer.from(seeds.sha1).toString()).toBe('12345678901234567890');
    expect(Buffer.from(seeds.sha512).toString()).toBe('12345678901234567890'.repeat(3) + '1234');
    expect(cases).toHaveLength(18);
  });

  it.each(cases)('$algorithm at T=$time → $expected', async ({ time, algorithm, expected }) => {
    const code = await totpAt({ secretBytes: seeds[algorithm], algorithm, digits: 8, epochSeconds: time });
    expect(code).toBe(expected);
  });
});

describe('TOTP: secret and provisioning', () => {
  it('generates 160-bit base32 secrets', () => {
    const secret = generateTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(generateTotpSecret()).not.toBe(secret);
  });

  it('builds an otpauth URI that parses back to its parts', () => {
    const secret = generateTotpSecret();
    const uri = otpauthUri({ secret, accountName: 'ada lovelace+mfa@example.com', issuer: 'G3D Platform & Co' });
    expect(uri.startsWith('otpauth://totp/G3D%20Platform%20%26%20Co:ada%20lovelace%2Bmfa%40example.com?')).toBe(true);
    expect(uri).not.toContain('+');
    const url = new URL(uri);
    expect(url.protocol).toBe('otpauth:');
    expect(url.host).toBe('totp');
    expect(decodeURIComponent(url.pathname)).toBe('/G3D Platform & Co:ada lovelace+mfa@example.com');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      secret,
      issuer: 'G3D Platform & Co',
      algorithm: 'SHA1',
      digits: '6',
      period: '30',
    });
  });

  it('refuses an issuer with a colon (it would split the label)', () => {
    expect(() => otpauthUri({ secret: generateTotpSecret(), accountName: 'a@b.c', issuer: 'a:b' })).toThrow(Error);
  });

  it('renders the URI as a PNG data URL', async () => {
    const uri = otpauthUri({ secret: generateTotpSecret(), accountName: 'a@example.com', issuer: 'G3D' });
    const dataUrl = await qrCodeDataUrl(uri);
    expect(dataUrl.startsWith('data:image/png;base64,')).toBe(true);
    const png = Buffer.from(dataUrl.slice('data:image/png;base64,'.length), 'base64');
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });
});

describe('TOTP: verification window and replay', () => {
  // Fixed secrets keep the window tests deterministic (a random one could, rarely, make two steps' codes collide).
  const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
  const otherSecret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
  const STEP_MS = 30_000;
  // Three positions inside a step: its first millisecond, the middle, and its last millisecond.
  const stepStart = 1_700_000_010_000; // 1700000010 is a multiple of 30
  const nows = [stepStart, stepStart + 15_000, stepStart + STEP_MS - 1];
  const codeAt = (now: number, steps: number) => generateTotp({ secret, now: now + steps * STEP_MS });

  it('starts the fixture on a step boundary', () => {
    expect(totpTimeStep(stepStart) * STEP_MS).toBe(stepStart);
    expect(totpTimeStep(stepStart + STEP_MS - 1)).toBe(totpTimeStep(stepStart));
  });

  it.each(nows)('accepts the current, previous and next step (now=%i)', async (now) => {
    const current = totpTimeStep(now);
    for (const steps of [0, -1, 1]) {
      const code = await codeAt(now, steps);
      expect(code).toMatch(/^[0-9]{6}$/);
      expect(await verifyTotp({ secret, code, lastTimeStep: null, now })).toEqual({
        valid: true,
        timeStep: current + steps,
      });
    }
  });

  it.each(nows)('rejects codes two or more steps away (now=%i)', async (now) => {
    for (const steps of [-3, -2, 2, 3]) {
      const code = await codeAt(now, steps);
      expect(await verifyTotp({ secret, code, lastTimeStep: null, now })).toEqual({ valid: false });
    }
  });

  it('accepts a code once per time step: replays and older steps are rejected', async () => {
    const now = stepStart + 15_000;
    const current = totpTimeStep(now);
    const code = await codeAt(now, 0);
    const first = await verifyTotp({ secret, code, lastTimeStep: current - 1, now });
    expect(first).toEqual({ valid: true, timeStep: current });
    // The caller stored `current`: the same code (same step) is now a replay.
    expect(await verifyTotp({ secret, code, lastTimeStep: current, now })).toEqual({ valid: false });
    // …still a replay a few seconds later, within the window.
    expect(await verifyTotp({ secret, code, lastTimeStep: current, now: now + 10_000 })).toEqual({ valid: false });
    // The previous step's code, though in the window, is older than the last accepted step.
    const previous = await codeAt(now, -1);
    expect(await verifyTotp({ secret, code: previous, lastTimeStep: current, now })).toEqual({ valid: false });
    expect(await verifyTotp({ secret, code: previous, lastTimeStep: current - 1, now })).toEqual({ valid: false });
    // A later step's code is fine.
    const next = await codeAt(now, 1);
    expect(await verifyTotp({ secret, code: next, lastTimeStep: current, now })).toEqual({
      valid: true,
      timeStep: current + 1,
    });
  });

  it('generates and verifies against the real clock by default', async () => {
    const code = await generateTotp({ secret });
    const result = await verifyTotp({ secret, code, lastTimeStep: null });
    expect(result.valid).toBe(true);
  });

  it('rejects a code for another secret', async () => {
    for (const steps of [-1, 0, 1]) {
      const code = await generateTotp({ secret: otherSecret, now: stepStart + steps * STEP_MS });
      expect(await verifyTotp({ secret, code, lastTimeStep: null, now: stepStart })).toEqual({ valid: false });
    }
  });

  it.each([
    ['empty', ''],
    ['5 digits', '12345'],
    ['7 digits', '1234567'],
    ['letters', 'abcdef'],
    ['NUL byte', '12345\u0000'],
    ['trailing newline', '123456\n'],
    ['spaces', ' 123456'],
    ['signed', '+12345'],
    ['fullwidth digits', '１２３４５６'],
    ['10 KB', '1'.repeat(10_240)],
  ])('rejects malformed input without throwing: %s', async (_name, code) => {
    const now = stepStart;
    await expect(verifyTotp({ secret, code, lastTimeStep: null, now })).resolves.toEqual({ valid: false });
    await expect(verifyTotp({ secret, code, lastTimeStep: 5, now })).resolves.toEqual({ valid: false });
  });

  it('rejects a non-string code without throwing', async () => {
    const code = 123456 as unknown as string;
    await expect(verifyTotp({ secret, code, lastTimeStep: null, now: stepStart })).resolves.toEqual({ valid: false });
  });

  it('refuses a nonsensical lastTimeStep (a caller bug, not a wrong code)', async () => {
    const code = await codeAt(stepStart, 0);
    for (const lastTimeStep of [Number.NaN, -1, 1.5]) {
      await expect(verifyTotp({ secret, code, lastTimeStep, now: stepStart })).rejects.toThrow(Error);
    }
  });
});

describe('secret box (AES-256-GCM)', () => {
  const key = Buffer.alloc(32, 7);
  const box = createSecretBox(key);
  const userId = '0b9f0a53-8c1e-4c55-9a59-1f6f1c3a2d10';
  const otherUserId = '5d1c0e7e-2f4b-4a8e-b7c1-3b9f2e6a4c20';
  const plaintext = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

  it('round-trips, with a fresh IV each time', () => {
    const sealed = box.seal(plaintext, userId);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain(plaintext);
    expect(box.open(sealed, userId)).toBe(plaintext);
    expect(box.seal(plaintext, userId)).not.toBe(sealed);
    expect(box.open(box.seal('', userId), userId)).toBe('');
    expect(box.open(box.seal('ünïcødé ✓'))).toBe('ünïcødé ✓');
  });

  it('fails with another user id (or none) as AAD', () => {
    const sealed = box.seal(plaintext, userId);
    expect(() => box.open(sealed, otherUserId)).toThrow(Error);
    expect(() => box.open(sealed)).toThrow(Error);
    expect(() => box.open(box.seal(plaintext), userId)).toThrow(Error);
  });

  it('fails when any single byte is flipped', () => {
    const sealed = box.seal(plaintext, userId);
    const [version, ...parts] = sealed.split('.');
    parts.forEach((part, index) => {
      const bytes = Buffer.from(part, 'base64url');
      for (let i = 0; i < bytes.length; i++) {
        for (const mask of [0x01, 0x80]) {
          const flipped = Buffer.from(bytes);
          flipped[i]! ^= mask;
          const copy = [...parts];
          copy[index] = flipped.toString('base64url');
          expect(() => box.open([version, ...copy].join('.'), userId)).toThrow(Error);
        }
      }
    });
  });

  it('fails when any single character of the sealed text changes', () => {
    const sealed = box.seal(plaintext, userId);
    for (let i = 0; i < sealed.length; i++) {
      const replacement = sealed[i] === 'A' ? 'B' : 'A';
      const changed = sealed.slice(0, i) + replacement + sealed.slice(i + 1);
      expect(() => box.open(changed, userId)).toThrow(Error);
    }
  });

  it('fails with a wrong key', () => {
    const sealed = box.seal(plaintext, userId);
    const other = Buffer.from(key);
    other[31] = 8;
    expect(() => createSecretBox(other).open(sealed, userId)).toThrow(Error);
  });

  it('is not affected by later changes to the key buffer', () => {
    const mutable = Buffer.alloc(32, 9);
    const own = createSecretBox(mutable);
    const sealed = own.seal(plaintext);
    mutable.fill(0);
    expect(own.open(sealed)).toBe(plaintext);
  });

  it('rejects malformed sealed strings with a plain Error', () => {
    const sealed = box.seal(plaintext, userId);
    const [, iv, tag, ciphertext] = sealed.split('.');
    const malformed = [
      '',
      'v1',
      'v1...',
      `v2.${iv}.${tag}.${ciphertext}`,
      `V1.${iv}.${tag}.${ciphertext}`,
      `v1.${iv}.${tag}`,
      `v1.${iv}.${tag}.${ciphertext}.`,
      `v1.${iv}.${tag}.${ciphertext}=`,
      `v1.${iv}.${tag}.${ciphertext}\u0000`,
      `v1.${iv}.${tag!.slice(0, 20)}.${ciphertext}`,
      `v1.${iv!.slice(0, 12)}.${tag}.${ciphertext}`,
      `v1.${iv}.${tag}.${ciphertext}`.replace(/[A-Za-z0-9]/, '+'),
      ` ${sealed}`,
      `${sealed}\n`,
      'v1.' + 'A'.repeat(10_000),
      'not base64 at all',
    ];
    for (const input of malformed) {
      let thrown: unknown;
      try {
        box.open(input, userId);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(Error);
      expect((thrown as Error).constructor).toBe(Error);
      expect((thrown as Error).message).toMatch(/cannot be opened/);
    }
  });

  it('refuses keys that are not 32 bytes', () => {
    expect(() => createSecretBox(Buffer.alloc(31))).toThrow(/32 bytes/);
    expect(() => createSecretBox(Buffer.alloc(33))).toThrow(/32 bytes/);
  });

  it('parses key text: base64 of exactly 32 bytes', () => {
    const raw = Buffer.alloc(32, 0xab);
    const text = raw.toString('base64');
    expect(secretBoxKeyFromText(text)).toEqual(raw);
    expect(secretBoxKeyFromText(`  ${text}\n`)).toEqual(raw);
    expect(() => secretBoxKeyFromText('')).toThrow(/exactly 32 bytes/);
    expect(() => secretBoxKeyFromText(Buffer.alloc(16).toString('base64'))).toThrow(/exactly 32 bytes, got 16/);
    expect(() => secretBoxKeyFromText(Buffer.alloc(64).toString('base64'))).toThrow(/exactly 32 bytes, got 64/);
    expect(() => secretBoxKeyFromText(raw.toString('hex'))).toThrow(/exactly 32 bytes/);
    expect(() => secretBoxKeyFromText(raw.toString('base64url'))).toThrow(/base64/);
    expect(() => secretBoxKeyFromText(`${text.slice(0, 10)}!${text.slice(11)}`)).toThrow(/base64/);
    // Never echo the key in the message.
    expect(() => secretBoxKeyFromText(text.slice(0, 40))).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining(text.slice(0, 40)) as unknown }),
    );
  });

  describe('key file', () => {
    const dirs: string[] = [];
    afterEach(() => {
      for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    });
    const tempDir = () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mfa-key-'));
      dirs.push(dir);
      return dir;
    };

    it('creates a 0600 key once and reads the same key back', () => {
      const dataDir = tempDir();
      const key = loadOrCreateSecretBoxKey(dataDir);
      expect(key).toHaveLength(32);
      const keyPath = path.join(dataDir, 'keys', 'mfa-encryption.key');
      expect(fs.statSync(keyPath).mode & 0o777).toBe(0o600);
      expect(secretBoxKeyFromText(fs.readFileSync(keyPath, 'utf8'))).toEqual(key);
      expect(loadOrCreateSecretBoxKey(dataDir)).toEqual(key);
    });

    it('refuses a corrupt key file instead of replacing it', () => {
      const dataDir = tempDir();
      const keyPath = path.join(dataDir, 'keys', 'mfa-encryption.key');
      fs.mkdirSync(path.dirname(keyPath), { recursive: true });
      fs.writeFileSync(keyPath, 'short');
      expect(() => loadOrCreateSecretBoxKey(dataDir)).toThrow(/mfa-encryption\.key/);
      expect(fs.readFileSync(keyPath, 'utf8')).toBe('short');
    });
  });
});

describe('backup codes', () => {
  const alphabet = new Set(BACKUP_CODE_ALPHABET);

  it('generates 10 distinct codes in xxxxx-xxxxx from the unambiguous alphabet', () => {
    const codes = generateBackupCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) {
      expect(code).toMatch(/^[2-9A-HJKMNP-Z]{5}-[2-9A-HJKMNP-Z]{5}$/);
      expect(code).not.toMatch(/[01OIL]/);
    }
    expect(generateBackupCodes(3)).toHaveLength(3);
    expect([...BACKUP_CODE_ALPHABET].some((c) => '01OIL'.includes(c))).toBe(false);
    expect(alphabet.size).toBe(31);
  });

  it('uses the whole alphabet', () => {
    const seen = new Set(generateBackupCodes(100).join('').replaceAll('-', ''));
    expect(seen).toEqual(alphabet);
  });

  it('normalizes case, spaces and hyphens', () => {
    const [code] = generateBackupCodes(1);
    const canonical = code!.replace('-', '');
    expect(normalizeBackupCode(code!)).toBe(canonical);
    expect(normalizeBackupCode(code!.toLowerCase())).toBe(canonical);
    expect(normalizeBackupCode(` ${canonical.slice(0, 3)} ${canonical.slice(3)} `)).toBe(canonical);
    expect(normalizeBackupCode(canonical.split('').join('-'))).toBe(canonical);
    expect(normalizeBackupCode('abcde-fghjk')).toBe('ABCDEFGHJK');
  });

  it.each([
    ['empty', ''],
    ['too short', 'ABCDE-FGHJ'],
    ['too long', 'ABCDE-FGHJKM'],
    ['ambiguous 0', 'ABCDE-FGH0K'],
    ['ambiguous O', 'ABCDE-FGHOK'],
    ['ambiguous 1', 'ABCDE-FGH1K'],
    ['ambiguous I', 'ABCDE-FGHIK'],
    ['ambiguous l', 'ABCDE-FGHlK'],
    ['NUL byte', 'ABCDE-FGHJ\u0000K'],
    ['trailing NUL', 'ABCDE-FGHJK\u0000'],
    ['long s (folds to S)', 'ABCDE-FGHJ\u017f'],
    ['Kelvin sign (folds to K)', 'ABCDE-FGHJ\u212a'],
    ['fullwidth', 'ＡＢＣＤＥＦＧＨＪＫ'],
    ['punctuation', 'ABCDE.FGHJK'],
    ['over 64 characters', `ABCDE${' '.repeat(60)}FGHJK`],
    ['10 KB', 'A'.repeat(10_240)],
  ])('rejects hostile input: %s', (_name, input) => {
    expect(normalizeBackupCode(input)).toBeNull();
  });

  it('hashes stably as SHA-256 hex of the normalized code', () => {
    expect(hashBackupCode('ABCDEFGHJK')).toBe('f57cbf1e3e471b25db4b8ad0844df41b2dae9c7d1944944d128e49294d412f66');
  });

  it('refuses to hash a code that is not normalized', () => {
    expect(() => hashBackupCode('abcde-fghjk')).toThrow(Error);
  });
});
