// CI hygiene: drops databases and Redis keys that test runs create (g3d_test_*, g3d-test:*), so an
// interrupted run leaves nothing behind for the next one.
import { runMain } from '@g3d/config';
import { testConfig } from '@g3d/testkit';
import { Redis } from 'ioredis';
import pg from 'pg';

await runMain(async () => {
  if (testConfig.DATABASE_URL) {
    const client = new pg.Client({ connectionString: testConfig.DATABASE_URL });
    await client.connect();
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'g3d\\_test\\_%'`,
    );
    for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    await client.end();
    process.stdout.write(`dropped ${rows.length} test database(s)\n`);
  }
  if (testConfig.REDIS_URL) {
    const redis = new Redis(testConfig.REDIS_URL);
    let cursor = '0';
    let count = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'g3d-test:*', 'COUNT', 1000);
      cursor = next;
      if (keys.length) count += await redis.del(...keys);
    } while (cursor !== '0');
    await redis.quit();
    process.stdout.write(`deleted ${count} test key(s) from Redis\n`);
  }
});
