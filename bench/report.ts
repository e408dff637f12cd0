import type { FastAccuracy } from './accuracy';
import type { BenchResult } from './main';

const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
const e = (x: number) => x.toExponential(2);

function table(head: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n') + '\n';
}

/** The benchmark as markdown: what `npm run bench` prints and saves as bench.md. */
export function markdownReport(r: BenchResult): string {
  const m = r.machine;
  let md = `# score-sde benchmark${m.device === 'cuda' ? ' on CUDA' : ''}\n\n${m.date} · ${m.cores} cores (${m.cpu}) · Node ${m.node} · onnxruntime ${m.onnxruntime} · ${m.threads} threads · median of ${m.reps}${m.quick ? ' · QUICK (smoke settings, numbers not meaningful)' : ''}\n\n`;
  if (r.noise) {
    const n = r.noise;
    md += `## Noise: ns per standard normal (${n.elements} at a time)\n\nziggurat ${f(n.ziggurat, 1)} ns, Box–Muller on the same Philox words ${f(n.boxMuller, 1)} ns (×${f(n.boxMuller / n.ziggurat, 2)}).\n\n`;
    md += `Per coordinate and step: one draw per step ('step' noise) against the Brownian tree of depth ${n.depth} ('path' noise), uniform grids on [1e-3, 1].\n\n`;
    md += table(['steps', "'step' ns", "'path' ns", 'path / step'], n.paths.map((p) => [p.steps, f(p.stepNs, 1), f(p.pathNs, 1), f(p.ratio, 1)]));
    md += '\n';
  }
  if (r.overhead.length) {
    md += '## Overhead: sampler wall time / (NFE × bare session.run of the batch)\n\n';
    md += 'ratio: against a bare session.run on prepared tensors, timed between sampler runs. in-run ratio: against the time the run itself spent inside session.run (the rest is JavaScript: conversions, solver arithmetic, noise).\n\n';
    md += table(
      ['model', 'batch', 'solver', 'NFE', 'calls', 'bare run ms', 'sampler ms', 'ratio', 'in-run ratio'],
      r.overhead.map((o) => [o.model, o.batch, o.solver, f(o.nfe, 1), o.calls, f(o.rawRunMs, 3), f(o.samplerMs, 1), f(o.ratio, 3), f(o.inRunRatio, 3)]),
    );
    md += '\n';
  }
  if (r.torch) {
    md += `## Against a PyTorch sampler loop (same weights, same NFE, same threads, ${m.device === 'cuda' ? 'both on CUDA' : 'CPU'})\n\n`;
    if (!r.torch.available) md += `${r.torch.message}\n\n`;
    else {
      md += `torch ${r.torch.torchVersion}; network output torch vs onnxruntime on a probe input: max |diff| = ${e(r.torch.probeMaxDiff ?? NaN)}\n\n`;
      md += table(
        ['model', 'batch', 'solver', 'NFE', 'score-sde samples/s', 'torch samples/s', 'ratio'],
        r.torch.rows.map((t) => [t.model, t.batch, t.solver, t.nfe, f(t.scoreSdePerSecond, 0), f(t.torchPerSecond, 0), f(t.ratio, 2)]),
      );
      md += '\n';
    }
  }
  if (r.accuracy) {
    const a = r.accuracy;
    md += `## Accuracy per NFE (exact 3-mode mixture, VP)\n\nODE solvers: error against RK45 at rtol = atol = 1e-9 from the same x_T (${a.n} samples).\n\n`;
    md += table(['solver', 'setting', 'NFE', 'RMS error', 'max error'], a.ode.map((o) => [o.solver, o.setting, f(o.nfe, 1), e(o.rmsError), e(o.maxError)]));
    md += `\nStochastic solvers: sliced Wasserstein to exact samples, mean over 3 seeds; noise floor (exact against exact) = ${f(a.swNoiseFloor, 4)}.\n\n`;
    md += table(['solver', 'setting', 'NFE', 'sliced W2'], a.sde.map((s) => [s.solver, s.setting, f(s.nfe, 0), f(s.slicedWasserstein, 4)]));
    if (a.fast) md += fastTable(a.fast);
  }
  if (r.likelihood) {
    md += '\n## Likelihood: time per sample (PF-ODE, RK45 rtol = atol = 1e-5, eps = 1e-5, one run)\n\n';
    md += 'NFE: vector-field evaluations per sample; model evaluations: 1 (exact), 1 + 2·dim (jacobian), 1 + 2·probes (hutchinson) per NFE. in-run ratio: wall time / time inside session.run.\n\n';
    md += table(
      ['model', 'divergence', 'n', 'NFE', 'model evals', 'ms / sample', 'in-run ratio', 'mean log p', 'bits/dim'],
      r.likelihood.map((l) => [l.model, l.method, l.n, f(l.nfe, 1), f(l.modelEvaluations, 0), f(l.msPerSample, 2), l.inRunRatio === undefined ? '' : f(l.inRunRatio, 3), f(l.logp, 3), l.bpd === undefined ? '' : f(l.bpd, 3)]),
    );
  }
  if (r.imageMetrics) {
    const b = r.imageMetrics;
    md += `\n## Image metrics: classifier features + Fréchet distance (${b.n} images, ${b.featureDim}-d features)\n\n`;
    md += table(
      ['features ms', 'mean + covariance ms', 'FD ms', 'features + FD ms', 'images/s (features)', 'KID ms (2000 rows, 100 subsets)'],
      [[f(b.featuresMs, 0), f(b.statsMs, 0), f(b.fdMs, 0), f(b.fdTotalMs, 0), f(b.imagesPerSecond, 0), f(b.kidMs, 0)]],
    );
  }
  return md;
}

/** The fast solvers' table: RMS / max error per budget, and the budget that matches Heun at 128. */
function fastTable(fast: FastAccuracy): string {
  const budgets = fast.rows[0]?.errors.map((e) => e.budget) ?? [];
  let md = `\n## Fast solvers (exact 3-mode mixture, VP and VE)\n\nRMS / max error against RK45 at rtol = atol = 1e-10 from the same x_T (${fast.n} samples), at an evaluation budget (nfe; the NFE spent in brackets where it is lower). Last column: fewest evaluations from which on the RMS error stays at or below Heun's at 128 (VP ${e(fast.heun128.VP)}, VE ${e(fast.heun128.VE)}).\n\n`;
  md += table(
    ['SDE', 'solver', 'setting', ...budgets.map((b) => `${b} evals`), 'evals to match Heun@128'],
    fast.rows.map((r) => [
      r.sde,
      r.solver,
      r.setting,
      ...r.errors.map((x) => `${e(x.rmsError)} / ${e(x.maxError)}${x.nfe < x.budget ? ` (${f(x.nfe, 0)})` : ''}`),
      r.nfeToMatchHeun128 === undefined ? '> 256' : String(r.nfeToMatchHeun128),
    ]),
  );
  return md;
}
