// DataLoader shapes every subgraph needs: one row per key, or the list of rows per key. One batched query
// per request and kind, whatever the number of parents (no N+1).
import DataLoader from 'dataloader';

/** Loads rows by a unique key; missing keys resolve to null. */
export function oneByKey<K, V>(
  fetch: (keys: readonly K[]) => Promise<V[]>,
  keyOf: (row: V) => K,
): DataLoader<K, V | null> {
  return new DataLoader(async (keys) => {
    const rows = new Map((await fetch(keys)).map((row) => [keyOf(row), row]));
    return keys.map((key) => rows.get(key) ?? null);
  });
}

/**
 * Loads all rows that share a key (e.g. the memberships of each user); missing keys resolve to []. `maxBatch`
 * splits a large batch into several fetches (a peer's contract may cap how many keys one call takes).
 */
export function manyByKey<K, V>(
  fetch: (keys: readonly K[]) => Promise<V[]>,
  keyOf: (row: V) => K,
  options: { maxBatch?: number } = {},
): DataLoader<K, V[]> {
  return new DataLoader(
    async (keys) => {
      const groups = new Map<K, V[]>();
      for (const row of await fetch(keys)) {
        const key = keyOf(row);
        const group = groups.get(key);
        if (group) group.push(row);
        else groups.set(key, [row]);
      }
      return keys.map((key) => groups.get(key) ?? []);
    },
    options.maxBatch ? { maxBatchSize: options.maxBatch } : {},
  );
}

export type { DataLoader };
