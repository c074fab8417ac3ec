import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { createPasswordPolicy, normalizePassword } from '../src/modules/passwords/policy.ts';

const listFile = new URL('../src/modules/passwords/common-passwords.txt', import.meta.url);
const list = readFileSync(listFile, 'utf8').split('\n').slice(0, -1);
const policy = createPasswordPolicy();

const codeOf = (password: string, context?: Parameters<typeof policy.check>[1]) =>
  policy.check(password, context)?.code ?? null;

describe('common-passwords.txt', () => {
  it('has exactly 3,000 distinct lowercase lines, most common first', () => {
    expect(readFileSync(listFile, 'utf8').endsWith('\n')).toBe(true);
    expect(list).toHaveLength(3000);
    expect(new Set(list).size).toBe(3000);
    for (const line of list) {
      expect(line).toBe(line.toLowerCase());
      expect(line).not.toBe('');
      expect(line).not.toMatch(/\r/);
    }
    expect(list.slice(0, 5)).toEqual(['123456', 'password', '12345678', 'qwerty', '123456789']);
  });
});

describe('createPasswordPolicy', () => {
  it('rejects common passwords (case-insensitively)', () => {
    expect(list).toContain('password1');
    for (const p of ['password', 'Password1', 'PASSWORD1', '123456789', 'qwertyuiop', 'QwErTyUiOp']) {
      expect(codeOf(p), p).toBe(p.length < 8 ? 'TOO_SHORT' : 'COMMON');
    }
    expect(codeOf('password')).toBe('COMMON');
  });

  it('rejects a common password typed in full-width characters (NFKC before lookup)', () => {
    expect(codeOf('ｐａｓｓｗｏｒｄ')).toBe('COMMON');
  });

  it('accepts 64 and 256 code points, rejects 257 as TOO_LONG', () => {
    expect(codeOf('a1b2c3d4'.repeat(8))).toBeNull();
    expect(codeOf('x'.repeat(256))).toBeNull();
    expect(codeOf('😀'.repeat(256))).toBeNull(); // 512 UTF-16 units, 256 code points
    expect(codeOf('x'.repeat(257))).toBe('TOO_LONG');
    expect(codeOf('😀'.repeat(257))).toBe('TOO_LONG');
  });

  it('rejects 7 characters with the default minimum of 8', () => {
    expect(codeOf('k9#mQz!')).toBe('TOO_SHORT');
    expect(codeOf('k9#mQz!v')).toBeNull();
  });

  it('honours a configured minimum of 15', () => {
    const strict = createPasswordPolicy({ minLength: 15 });
    expect(strict.check('fourteen chars')?.code).toBe('TOO_SHORT');
    expect(strict.check('fifteen chars!!')).toBeNull();
    expect(strict.check('fourteen chars')?.message).toContain('15');
  });

  it('has no composition rules', () => {
    expect(codeOf('correct horse battery staple')).toBeNull();
    expect(codeOf('alllowercaseletters')).toBeNull();
    expect(codeOf('84726153094')).toBeNull();
  });

  it('rejects NUL and other C0 control characters', () => {
    expect(codeOf('correct horse\u0000battery')).toBe('INVALID_CHARACTERS');
    expect(codeOf('correct horse\tbattery')).toBe('INVALID_CHARACTERS');
    expect(codeOf('correct horse\nbattery')).toBe('INVALID_CHARACTERS');
    expect(codeOf('\u001fcorrect horse battery')).toBe('INVALID_CHARACTERS');
    expect(codeOf('\u0000'.repeat(3))).toBe('INVALID_CHARACTERS');
  });

  it('counts code points after NFKC, not UTF-16 units', () => {
    expect(codeOf('😀😀😀😀')).toBe('TOO_SHORT'); // 8 UTF-16 units, 4 code points
    expect(codeOf('😀🔑🌍🎉🐉🍕🚀✨')).toBeNull(); // 8 code points
    // e + combining acute composes into one code point under NFKC: 4 + 4 = 8 UTF-16 units but 4 code points.
    expect(codeOf('e\u0301e\u0301e\u0301e\u0301')).toBe('TOO_SHORT');
    expect(codeOf('пароль-мой-длинный')).toBeNull();
    // U+FB01 (the "fi" ligature) becomes two code points under NFKC.
    expect(codeOf('\ufb01'.repeat(4))).toBeNull();
    expect(normalizePassword('\ufb01')).toBe('fi');
    expect(normalizePassword('Å')).toBe('Å'); // U+212B ANGSTROM SIGN -> U+00C5
  });

  it('rejects the email, its local part and the names (case-insensitive, context of 4+ characters)', () => {
    const context = { email: 'Jane.Doe@Example.com', names: ['Janet Doe-Smith', 'Al'] };
    expect(codeOf('jane.doe@example.com', context)).toBe('CONTAINS_CONTEXT');
    expect(codeOf('JANE.DOE', context)).toBe('CONTAINS_CONTEXT');
    expect(codeOf('janet doe-smith', context)).toBe('CONTAINS_CONTEXT');
    expect(codeOf('jane.doe-2024', context)).toBeNull();
    expect(codeOf('correct horse battery staple', context)).toBeNull();
    expect(codeOf('correct horse battery staple', {})).toBeNull();
    expect(codeOf('  Jane.Doe@EXAMPLE.com', context)).toBeNull(); // the password itself is not trimmed
    expect(codeOf('ｊａｎｅ．ｄｏｅ', context)).toBe('CONTAINS_CONTEXT'); // NFKC on both sides

    // The full email counts even when its local part is under 4 characters (which is then ignored).
    expect(codeOf('abc@x.io', { email: 'abc@x.io', names: ['Bob'] })).toBe('CONTAINS_CONTEXT');
    // Malformed or empty context never throws.
    expect(codeOf('correct horse battery', { email: '', names: ['', '   '] })).toBeNull();
    expect(codeOf('correct horse battery', { email: '@nolocal' })).toBeNull();
  });

  it('never echoes the password in its messages', () => {
    const secret = 'Sup3rS3cretValue';
    const inputs = ['Sup3rS3cret1', 'Sup3r', `${secret}\u0000`, secret.repeat(20), 'x'.repeat(300)];
    for (const input of inputs) {
      const problem = policy.check(input, { email: 'sup3rs3cret1@example.com', names: [secret] });
      expect(problem).not.toBeNull();
      expect(problem?.message).not.toContain(input);
      expect(problem?.message.toLowerCase()).not.toContain('sup3r');
    }
    expect(policy.check(secret, { names: [secret] })?.message).not.toContain(secret);
  });

  it('refuses a maxLength under 64 and a minLength under 8 at construction', () => {
    expect(() => createPasswordPolicy({ maxLength: 32 })).toThrow(RangeError);
    expect(() => createPasswordPolicy({ maxLength: 63 })).toThrow(RangeError);
    expect(() => createPasswordPolicy({ minLength: 6 })).toThrow(RangeError);
    expect(() => createPasswordPolicy({ minLength: 100, maxLength: 64 })).toThrow(RangeError);
    expect(createPasswordPolicy({ maxLength: 64 }).maxLength).toBe(64);
  });

  it('never throws, even for 10 KB input', () => {
    const inputs = [
      'a'.repeat(10_240),
      '😀'.repeat(5_120),
      '\u0000'.repeat(10_240),
      '\ufdfa'.repeat(10_240), // each expands to 18 code points under NFKC
      '\ud800'.repeat(10_240), // lone surrogates
      'e\u0301'.repeat(5_120),
    ];
    for (const input of inputs) {
      expect(() => policy.check(input, { email: input, names: [input] })).not.toThrow();
      expect(policy.check(input)).not.toBeNull();
    }
    expect(codeOf('\ufdfa'.repeat(15))).toBe('TOO_LONG'); // 15 UTF-16 units, 270 code points after NFKC
  });
});
