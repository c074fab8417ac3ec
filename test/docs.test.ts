// The README stays true: every error code of the registry and every setting of the config schema is
// documented there.
import fs from 'node:fs';
import path from 'node:path';

import { ERROR_CODES } from '@g3d/errors';
import { platformConfigSchema } from '@g3d/platform';
import { describe, expect, it } from 'vitest';

const readme = fs.readFileSync(path.resolve(import.meta.dirname, '../README.md'), 'utf8');
const settings = Object.keys((await platformConfigSchema()).shape);

describe('README', () => {
  it.each(Object.keys(ERROR_CODES))('documents error code %s', (code) => {
    expect(readme).toMatch(new RegExp(`^\\| \`${code}\` +\\|`, 'm'));
  });

  // Per-AI-service overrides are documented once as a pattern (`AI_<SERVICE>_UPSTREAM_URL`, …).
  const perService = /^AI_[A-Z0-9_]+_(UPSTREAM_URL|TIMEOUT_SECONDS|RETRIES)$/;

  it.each(settings)('documents setting %s', (name) => {
    const pattern = perService.exec(name);
    expect(readme).toContain(pattern ? `\`AI_<SERVICE>_${pattern[1]}\`` : `\`${name}\``);
  });
});
