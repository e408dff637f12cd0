/**
 * A sweep killed with SIGKILL in the middle of a cell (a real process, not --limit) resumes to
 * the same results as an uninterrupted sweep: finished cells are kept, the interrupted one is
 * rerun from scratch, and every cell's samples are bitwise those of the uninterrupted run.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cli } from './support/cli';

const ROOT = path.resolve(__dirname, '..');
// Each cell takes about a second or more (4000 samples × 1000 steps); the kill comes 0.3 s into the second.
const BASE = `sde: {kind: vp}\nmodel: {type: gaussian, mean: [1, -2], std: [0.5, 2]}\nsolver: {name: euler_maruyama}\nsampling: {n: 4000, seed: 4}\noutput: {preview: false}\n`;
const SWEEP = 'base: base.yaml\naxes:\n  solver.steps: [1000, 1100]\n';
const CELLS = ['steps=1000', 'steps=1100'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('SIGKILL mid-cell, then resume: the same samples as an uninterrupted sweep', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'score-sde-kill-'));
  try {
    fs.writeFileSync(path.join(tmp, 'base.yaml'), BASE);
    fs.writeFileSync(path.join(tmp, 'sweep.yaml'), SWEEP);
    const killedDir = path.join(tmp, 'killed');
    const child = spawn(process.execPath, ['-r', path.join(__dirname, 'support', 'register-ts.js'), path.join(ROOT, 'cli', 'main.ts'), 'sweep', 'sweep.yaml', '--out', 'killed', '-q'], {
      cwd: tmp,
      stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    // Wait for the first cell to be complete (its manifest is rewritten 'complete' after the
    // metrics), then kill during the second cell.
    const first = path.join(killedDir, 'cells', CELLS[0], 'manifest.json');
    const complete = () => fs.existsSync(first) && JSON.parse(fs.readFileSync(first, 'utf8')).status === 'complete';
    for (let waited = 0; !complete(); waited += 50) {
      if (waited > 240_000) throw new Error('the first cell never finished');
      await sleep(50);
    }
    await sleep(300);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(fs.existsSync(path.join(killedDir, 'cells', CELLS[1], 'manifest.json'))).toBe(false);

    const resumed = await cli(['sweep', 'sweep.yaml', '--out', 'killed', '-q'], tmp);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/1 run, 1 already done, 0 failed/);
    const whole = await cli(['sweep', 'sweep.yaml', '--out', 'whole', '-q'], tmp);
    expect(whole.code).toBe(0);
    for (const c of CELLS) {
      const a = fs.readFileSync(path.join(killedDir, 'cells', c, 'samples.npy'));
      const b = fs.readFileSync(path.join(tmp, 'whole', 'cells', c, 'samples.npy'));
      expect(a.equals(b)).toBe(true);
      expect(fs.readdirSync(path.join(killedDir, 'cells', c)).sort()).toEqual(['manifest.json', 'samples.npy']);
    }
    const rows = (dir: string) => JSON.parse(fs.readFileSync(path.join(tmp, dir, 'results.json'), 'utf8')).rows.map((r: Record<string, unknown>) => [r.cell, r.status, r.nfe, r.sw]);
    expect(rows('killed')).toEqual(rows('whole'));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
