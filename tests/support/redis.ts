import { findRedisServer } from '../../bench/redis-server';

export { findRedisServer, freePort, startRedis } from '../../bench/redis-server';
export type { RedisServer } from '../../bench/redis-server';

/**
 * The distributed-sweep tests need a real Redis (bench/redis-server.ts starts one). Where
 * redis-server is missing the suite says so loudly (requireRedisOrSkipLoudly), never silently.
 */

export const SKIP_ENV = 'SCORE_SDE_SKIP_REDIS';

/**
 * Where redis-server is missing: a warning banner, and a test that fails saying how to install it,
 * unless SCORE_SDE_SKIP_REDIS=1 asks to skip (then the banner still says what was skipped).
 * Returns whether the Redis tests can run.
 */
export function requireRedisOrSkipLoudly(suite: string): boolean {
  if (findRedisServer()) return true;
  const skipping = process.env[SKIP_ENV] === '1';
  const line = '='.repeat(100);
  console.warn(
    `${line}\n${suite}: redis-server is not installed, so these tests ${skipping ? `are SKIPPED (${SKIP_ENV}=1)` : 'FAIL'}.\n` +
      `Install it with  sudo apt-get install -y redis-server  (or run bash tests/support/system-deps.sh), or set ${SKIP_ENV}=1 to skip them.\n${line}`,
  );
  if (!skipping) {
    test('redis-server is installed (the distributed-sweep tests need it)', () => {
      throw new Error(`redis-server not found: sudo apt-get install -y redis-server, or ${SKIP_ENV}=1 to skip the distributed-sweep tests`);
    });
  } else {
    test.skip(`${suite} (skipped: ${SKIP_ENV}=1 and no redis-server)`, () => undefined);
  }
  return false;
}
