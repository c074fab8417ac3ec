import fs from 'node:fs';

import { type DocumentNode, parse } from 'graphql';

/** Reads an SDL file relative to the module that calls it. */
export function loadSdl(moduleUrl: string, relativePath: string): DocumentNode {
  return parse(fs.readFileSync(new URL(relativePath, moduleUrl), 'utf8'));
}

/** One document from a subgraph's module files (each module extends Query/Mutation with its fields). */
export function mergeTypeDefs(documents: DocumentNode[]): DocumentNode {
  return { kind: 'Document' as DocumentNode['kind'], definitions: documents.flatMap((d) => d.definitions) };
}
