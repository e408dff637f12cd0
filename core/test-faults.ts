/**
 * TEST-ONLY fault hooks, read from the environment, so that tests can make the code fail where the
 * machine cannot (a small full disk needs root; a metric step that fails needs a broken metric).
 * Not exported from the package; no effect unless the variables are set.
 */

/**
 * While SCORE_SDE_TEST_ENOSPC holds a regular expression, every write through core/files.ts
 * (writeFileAtomic) and core/npy.ts (NpyStreamWriter) to a path it matches fails with ENOSPC, as
 * on a full disk.
 */
export function checkWriteFault(file: string): void {
  const pattern = process.env.SCORE_SDE_TEST_ENOSPC;
  if (pattern && new RegExp(pattern).test(file)) {
    const err = new Error(`ENOSPC: no space left on device, write '${file}' (SCORE_SDE_TEST_ENOSPC)`) as NodeJS.ErrnoException;
    err.code = 'ENOSPC';
    throw err;
  }
}

/**
 * Whether SCORE_SDE_TEST_FAULTS (a comma-separated list) names this point, where the code then
 * fails on purpose. Points: 'metrics' (the metric step of a run throws).
 */
export function testFault(point: string): boolean {
  const list = process.env.SCORE_SDE_TEST_FAULTS;
  return !!list && list.split(',').includes(point);
}
