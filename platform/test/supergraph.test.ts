// The committed supergraph is what composition produces now, and composition is deterministic.
import fs from 'node:fs';

import { composeSupergraph, SUPERGRAPH_FILE } from '@g3d/platform';
import { describe, expect, it } from 'vitest';

describe('supergraph', () => {
  it('composes without errors, identically twice', async () => {
    const first = await composeSupergraph();
    const second = await composeSupergraph();
    expect(first.ok ? [] : first.errors).toEqual([]);
    expect(second).toEqual(first);
  });

  it('matches the committed schema/supergraph.graphql (else: npm run compose)', async () => {
    const result = await composeSupergraph();
    expect(result.ok && result.sdl).toBe(fs.readFileSync(SUPERGRAPH_FILE, 'utf8'));
  });
});
