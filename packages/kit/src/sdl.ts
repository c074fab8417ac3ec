import fs from 'node:fs';

import { type DocumentNode, parse } from 'graphql';

/** Reads an SDL file relative to the module that calls it. */
export function loadSdl(moduleUrl: string, relativePath: string): DocumentNode {
  return parse(fs.readFileSync(new URL(relativePath, moduleUrl), 'utf8'));
}
