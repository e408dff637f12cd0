import { ChildProcess, spawn } from 'child_process';
import * as path from 'path';

/**
 * The CLI in a real `node` child process (TypeScript sources through ts-bootstrap.js), for tests
 * that SIGKILL a run or a sweep at a chosen moment, or that need a second live process.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const BOOTSTRAP = path.join(__dirname, 'ts-bootstrap.js');
/** Preloaded with -r, so that the child's worker threads load TypeScript from the same cache. */
const REGISTER = path.join(__dirname, 'ts-register.js');
const MAIN = path.join(ROOT, 'cli', 'main.ts');

export interface ChildRun {
  child: ChildProcess;
  /** Resolves when the process has exited. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** Children still running: a failed or timed-out test must not leave them behind. */
const live = new Set<ChildProcess>();

/** SIGKILLs every child still running (call in afterEach). */
export function killStrays(): void {
  for (const c of live) c.kill('SIGKILL');
  live.clear();
}

export function spawnCli(args: string[], cwd: string, env: Record<string, string> = {}): ChildRun {
  const child = spawn(process.execPath, ['-r', REGISTER, BOOTSTRAP, MAIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.on('exit', () => live.delete(child));
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

/** Polls `ready` every 10 ms; rejects if the child exits first or after `timeoutMs`. */
export async function waitUntil(run: ChildRun, ready: () => boolean, timeoutMs = 60000): Promise<void> {
  const start = Date.now();
  let exited = false;
  void run.done.then(() => (exited = true));
  for (;;) {
    if (ready()) return;
    if (exited) {
      const r = await run.done;
      throw new Error(`the child exited (code ${r.code}) before the awaited moment:\n${r.stderr}`);
    }
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting for the child');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** SIGKILL, then wait for the exit. */
export async function kill(run: ChildRun): Promise<void> {
  run.child.kill('SIGKILL');
  const r = await run.done;
  if (r.signal !== 'SIGKILL') throw new Error(`the child was not killed: it exited with ${r.code}:\n${r.stderr}`);
}
