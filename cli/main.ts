#!/usr/bin/env node
import * as path from 'path';
import yargs from 'yargs';
import { SOLVERS } from '../solvers/registry';
import { ConfigError, formatIssue } from '../configs/errors';
import { describeFields } from '../configs/introspect';
import { loadConfig } from '../configs/load';
import { experimentConfigSchema } from '../configs/schema';
import { loadSweep, sweepConfigSchema } from '../configs/sweep';
import { EXIT_OK, EXIT_USAGE, UsageError, exitCodeFor } from './exit-codes';
import { runExperiment } from './experiment';
import { FEATURE_METRICS, featureSummary } from './feature-metrics';
import { formatNumber } from './format';
import { packageJson } from './fsutil';
import { cmdEnableCuda } from './enable-cuda';
import { cmdInspect } from './inspect';
import { cmdValidate } from './validate';
import { cmdLikelihood, likelihoodBuilder } from './likelihood';
import { defaultSweepDir, runSweep } from './sweep';
import { TIMING_COLUMNS, resultTable, summaryTable } from './sweep-results';

/**
 * The score-sde command line (yargs 17, CommonJS):
 *   score-sde run <config> [--set k=v ...] [--out dir] [--json] [--quiet]
 *   score-sde sweep <sweep> [--set k=v ...] [--out dir] [--workers N] [--limit K] [--json] [--quiet]
 *   score-sde sweep <sweep> --queue redis://host:port[/db] [--out dir] [--status] [--json] [--quiet]
 *   score-sde worker --queue redis://host:port[/db] [--concurrency N] [--root dir ...] [--lock-timeout s]
 *   score-sde validate <config|sweep> [--set k=v ...] [--json]
 *   score-sde likelihood <config> --data <file.npy> [options]   (see ./likelihood.ts)
 *   score-sde inspect [<model.onnx | shipped name>] [--list] [--json]
 *   score-sde enable-cuda [--from <dir|tgz>] [--no-check]
 *   score-sde solvers [--json]
 *   score-sde schema [--json]
 * Exit status: 0 ok, 1 the run failed, 2 bad config or usage.
 *
 * `main(argv, io)` runs in-process (tests call it with an argv array and capture the output).
 */

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stderr is a terminal (the progress bar is drawn only then). */
  stderrIsTTY: boolean;
  /** Folder relative command-line paths are resolved against. */
  cwd: string;
}

export const processIo: Io = {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  get stderrIsTTY() {
    return Boolean(process.stderr.isTTY);
  },
  get cwd() {
    return process.cwd();
  },
};

type Args = Record<string, unknown> & { _: (string | number)[] };
type Command = 'run' | 'sweep' | 'worker' | 'validate' | 'likelihood' | 'inspect' | 'enable-cuda' | 'solvers' | 'schema';

function setList(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

function parser(onCommand: (cmd: Command, args: Args) => void) {
  const setOption = {
    type: 'string' as const,
    describe: 'Override a config field: path.to.key=value (value parsed as YAML/JSON); repeatable',
    requiresArg: true,
  };
  return yargs()
    .scriptName('score-sde')
    .usage('$0 <command> [options]\n\nSample score-based diffusion models from declarative configs.')
    .command(
      'run <config>',
      'Run one experiment: samples.npy, manifest.json, preview.png in a run folder',
      (y) =>
        y
          .positional('config', { type: 'string', describe: 'Experiment config (YAML or JSON)' })
          .option('set', setOption)
          .option('out', { type: 'string', describe: 'Run folder (default: output.dir, else runs/<name>-<timestamp>)', requiresArg: true })
          .option('json', { type: 'boolean', describe: 'Print the manifest as JSON on stdout' })
          .option('quiet', { type: 'boolean', alias: 'q', describe: 'No progress bar or log lines on stderr (the summary still goes to stdout)' }),
      (a) => onCommand('run', a as Args),
    )
    .command(
      'sweep <sweep>',
      'Run every cell of a sweep (resumes: finished cells are skipped); results table and plots',
      (y) =>
        y
          .positional('sweep', { type: 'string', describe: 'Sweep config (YAML or JSON) with base: and axes:' })
          .option('set', { ...setOption, describe: 'Override a field of the base config; repeatable' })
          .option('out', { type: 'string', describe: 'Sweep folder (default: output.dir, else runs/sweeps/<name>)', requiresArg: true })
          .option('workers', { type: 'number', describe: 'Cells in parallel (worker threads; default: the sweep\'s workers, 1)', requiresArg: true })
          .option('limit', { type: 'number', describe: 'Run at most this many cells now; run again to resume', requiresArg: true })
          .option('queue', { type: 'string', describe: 'Run the cells on `score-sde worker` processes through this Redis (redis://host:port[/db]); stop and start again at will', requiresArg: true })
          .option('status', { type: 'boolean', describe: 'With --queue: print done / running / failed / waiting cells, run nothing' })
          .option('json', { type: 'boolean', describe: 'Print results.json on stdout' })
          .option('quiet', { type: 'boolean', alias: 'q', describe: 'No log lines on stderr' }),
      (a) => onCommand('sweep', a as Args),
    )
    .command(
      'worker',
      'Run sweep cells queued with `sweep --queue` on this machine, until stopped (Ctrl-C: running cells finish; twice: now)',
      (y) =>
        y
          .option('queue', { type: 'string', describe: 'Redis of the queue: redis://host:port[/db]', requiresArg: true, demandOption: true })
          .option('concurrency', { type: 'number', describe: 'Cells at a time, each in its own thread with its own models (default 1)', requiresArg: true })
          .option('root', { type: 'string', describe: 'Folder sweep files and sweep folders must be in (jobs elsewhere are refused); repeatable; default: the working directory', requiresArg: true })
          .option('lock-timeout', { type: 'number', describe: 'Seconds after which the cell of a worker that stopped answering goes to another worker (default 30)', requiresArg: true })
          .option('quiet', { type: 'boolean', alias: 'q', describe: 'No log lines on stderr' }),
      (a) => onCommand('worker', a as Args),
    )
    .command(
      'validate <config>',
      'Load and validate a config (or a sweep: every cell) and print it resolved',
      (y) =>
        y
          .positional('config', { type: 'string', describe: 'Experiment or sweep config' })
          .option('set', setOption)
          .option('json', { type: 'boolean', describe: 'Print JSON instead of YAML' }),
      (a) => onCommand('validate', a as Args),
    )
    .command(
      'likelihood <config>',
      'log p(x) (nats) and bits/dim of data rows under the config\'s model, by the probability-flow ODE',
      likelihoodBuilder,
      (a) => onCommand('likelihood', a as Args),
    )
    .command(
      'inspect [model]',
      'Show an ONNX model (inputs, outputs, card) and the execution providers that work here, with what CUDA is missing',
      (y) =>
        y
          .positional('model', { type: 'string', describe: 'An .onnx file or a shipped network\'s name (fashion-mnist/unet-vp); none: providers only' })
          .option('list', { type: 'boolean', describe: 'List the shipped networks by name' })
          .option('json', { type: 'boolean', describe: 'Print JSON' }),
      (a) => onCommand('inspect', a as Args),
    )
    .command(
      'enable-cuda',
      "Put onnxruntime's CUDA provider libraries in place (npm package, ~179 MB) and say what CUDA still lacks here",
      (y) =>
        y
          .option('from', { type: 'string', describe: 'The provider package as a folder or .tgz (offline machines)', requiresArg: true })
          .option('check', { type: 'boolean', default: true, describe: 'Try a CUDA session afterwards (--no-check: only place the files)' }),
      (a) => onCommand('enable-cuda', a as Args),
    )
    .command(
      'solvers',
      'List the solvers with their settings and defaults',
      (y) => y.option('json', { type: 'boolean', describe: 'Print JSON' }),
      (a) => onCommand('solvers', a as Args),
    )
    .command(
      'schema',
      'List every experiment config field with its type, default and meaning',
      (y) => y.option('json', { type: 'boolean', describe: 'Print JSON' }).option('sweep', { type: 'boolean', describe: 'The sweep file schema instead' }),
      (a) => onCommand('schema', a as Args),
    )
    .demandCommand(1, 'give a command')
    .recommendCommands()
    .strict()
    .help()
    .alias('h', 'help')
    .version(packageJson().version)
    .wrap(Math.min(110, process.stdout.columns || 100));
}

/** Runs the CLI; resolves to the exit status. Never calls process.exit. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let chosen: { cmd: Command; args: Args } | undefined;
  let parseError: Error | undefined;
  let output = '';
  parser((cmd, args) => (chosen = { cmd, args })).parse([...argv], {}, (err, _argv, out) => {
    parseError = err ?? undefined;
    output = out ?? '';
  });
  if (parseError) {
    io.stderr(`${output || parseError.message}\n`);
    return EXIT_USAGE;
  }
  if (!chosen) {
    // --help or --version
    if (output) io.stdout(`${output}\n`);
    return EXIT_OK;
  }
  try {
    return await dispatch(chosen.cmd, chosen.args, io);
  } catch (err) {
    reportError(err, io);
    return exitCodeFor(err);
  }
}

function reportError(err: unknown, io: Io): void {
  if (err instanceof ConfigError) {
    io.stderr(`score-sde: invalid config:\n${err.issues.map((i) => `  ${formatIssue(i)}`).join('\n')}\n`);
    return;
  }
  const e = err as Error;
  // Our error classes' names mean nothing to a user; a JavaScript built-in's marks a bug.
  const internal = /^(Type|Reference|Range|Syntax|Eval|URI)Error$/.test(e?.name ?? '') ? `internal error (${e.name}): ` : '';
  io.stderr(`score-sde: ${internal}${e?.message ?? String(err)}\n`);
  if (process.env.SCORE_SDE_DEBUG && e?.stack) io.stderr(`${e.stack}\n`);
}

async function dispatch(cmd: Command, args: Args, io: Io): Promise<number> {
  switch (cmd) {
    case 'run':
      return cmdRun(args, io);
    case 'sweep':
      return cmdSweep(args, io);
    case 'worker':
      return (await import('./queue-commands')).cmdWorker(args, io);
    case 'validate':
      return cmdValidate({ ...args, sets: setList(args.set) }, io);
    case 'likelihood':
      return cmdLikelihood(args, io);
    case 'inspect':
      return cmdInspect(args, io);
    case 'enable-cuda':
      return cmdEnableCuda(args, io);
    case 'solvers':
      return cmdSolvers(args, io);
    case 'schema':
      return cmdSchema(args, io);
  }
}

async function cmdRun(args: Args, io: Io): Promise<number> {
  const quiet = Boolean(args.quiet);
  const log = quiet ? () => undefined : (line: string) => io.stderr(`${line}\n`);
  const loaded = loadConfig(String(args.config), { sets: setList(args.set), cwd: io.cwd });
  // --out, else output.dir, else a fresh runs/<name>-<timestamp>[-k] claimed by the run.
  const outDir = args.out !== undefined ? path.resolve(io.cwd, String(args.out)) : undefined;
  // The bar starts with the first progress report, so that the loader's lines come first.
  const useBar = io.stderrIsTTY && !quiet;
  let bar: import('cli-progress').SingleBar | undefined;
  const progress = (p: { fraction: number; nfe: number }) => {
    if (!bar) {
      const cliProgress = require('cli-progress') as typeof import('cli-progress');
      bar = new cliProgress.SingleBar(
        { format: 'sampling [{bar}] {percentage}% | NFE {nfe} | ETA {eta_formatted}', hideCursor: true, clearOnComplete: true, stream: process.stderr, etaBuffer: 50 },
        cliProgress.Presets.shades_classic,
      );
      bar.start(1000, 0, { nfe: 0 });
    }
    bar.update(Math.round(p.fraction * 1000), { nfe: p.nfe.toFixed(p.nfe < 100 ? 1 : 0) });
  };
  let result;
  try {
    result = await runExperiment(loaded.config, {
      outDir,
      cwd: io.cwd,
      configFile: loaded.file,
      sources: loaded.sources,
      log: (line) => {
        if (!bar) log(line);
      },
      onProgress: useBar ? progress : undefined,
    });
  } finally {
    (bar as import('cli-progress').SingleBar | undefined)?.stop();
  }
  const m = result.manifest;
  if (args.json) {
    io.stdout(`${JSON.stringify(m, null, 2)}\n`);
  } else {
    const metrics = Object.entries(m.metrics)
      .filter(([k]) => !FEATURE_METRICS.includes(k) && k !== 'swFloor')
      .map(([k, v]) => `${k} ${formatNumber(v)}${k === 'sw' && m.metrics.swFloor !== undefined ? ` (exact draws: ${formatNumber(m.metrics.swFloor)})` : ''}${k === 'mmd2' && v < 0 ? ' (unbiased estimate, 0 in expectation for equal distributions: < 0 is noise, no difference detectable at this n)' : ''}`)
      .join(', ');
    io.stdout(
      `${path.relative(io.cwd, result.dir) || '.'}: ${m.n} samples, ${m.solver.name} (${m.solver.steps === null ? 'adaptive' : `${m.solver.steps} steps`}), NFE ${formatNumber(m.nfe)}` +
        `${m.guidance ? ` (guided, γ = ${formatNumber(m.guidance.scale)}: ${formatNumber(m.guidance.networkRowsPerSample)} network rows per sample)` : ''}` +
        `, ${(m.wallTimeMs / 1000).toFixed(2)} s on ${m.model.executionProvider}` +
        `${metrics ? `\n  vs ${m.reference.from ?? m.reference.source}: ${metrics}` : ''}` +
        `${m.features?.source === 'classifier' ? `\n${featureSummary(m.metrics, m.features)}` : ''}\n`,
    );
  }
  return EXIT_OK;
}

async function cmdSweep(args: Args, io: Io): Promise<number> {
  const quiet = Boolean(args.quiet);
  const log = quiet ? () => undefined : (line: string) => io.stderr(`${line}\n`);
  if (args.workers !== undefined && !(Number.isInteger(args.workers) && (args.workers as number) >= 1)) {
    throw new UsageError(`--workers must be an integer >= 1, got ${String(args.workers)}`);
  }
  if (args.limit !== undefined && !(Number.isInteger(args.limit) && (args.limit as number) >= 0)) {
    throw new UsageError(`--limit must be an integer >= 0, got ${String(args.limit)}`);
  }
  const queue = args.queue !== undefined || args.status ? await import('./queue-commands') : undefined;
  const target = args.queue !== undefined ? queue!.queueSweepTarget(args) : undefined;
  const sweep = loadSweep(String(args.sweep), { sets: setList(args.set), cwd: io.cwd });
  const outDir = args.out !== undefined ? path.resolve(io.cwd, String(args.out)) : (sweep.sweep.output.dir ?? defaultSweepDir(sweep, io.cwd));
  if (args.status) return queue!.cmdQueueStatus(args, sweep, outDir, io);
  log(`sweep ${sweep.name}: ${sweep.cells.length} cells (${sweep.axes.map(([k, v]) => `${k} × ${v.length}`).join(', ')})`);
  const result =
    target !== undefined
      ? await (await import('./queue-coordinator')).runQueueSweep(sweep, target, { outDir, log })
      : await runSweep(sweep, { outDir, workers: args.workers as number | undefined, limit: args.limit as number | undefined, log });
  if (args.json) {
    const { columns, records } = resultTable(sweep, result.rows);
    io.stdout(`${JSON.stringify({ dir: result.dir, columns, timingColumns: TIMING_COLUMNS, rows: records }, null, 2)}\n`);
  } else {
    io.stdout(`${summaryTable(resultTable(sweep, result.rows))}\n`);
    io.stdout(
      `${path.relative(io.cwd, result.dir) || '.'}: ${result.ran} run, ${result.skipped} already done, ${result.failed} failed, ${result.pending} pending` +
        `${result.pending ? ' (run the same command again to resume)' : ''}\n`,
    );
  }
  if (result.resultsError) io.stderr(`score-sde: ${result.resultsError}\n`);
  return result.failed > 0 || result.resultsError ? 1 : EXIT_OK;
}



function cmdSolvers(args: Args, io: Io): Promise<number> {
  const list = SOLVERS.map((s) => ({
    name: s.name,
    family: s.family,
    summary: s.summary,
    adaptive: s.adaptive,
    budget: s.budget,
    settings: describeFields(s.settings),
  }));
  if (args.json) {
    io.stdout(`${JSON.stringify(list, null, 2)}\n`);
    return Promise.resolve(EXIT_OK);
  }
  const lines: string[] = [];
  for (const s of list) {
    lines.push(`${s.name} (${s.family}, ${s.adaptive ? 'adaptive' : 'fixed steps'}; budget: ${s.budget.join(', ')}): ${s.summary}`);
    const width = Math.max(...s.settings.map((f) => f.path.length));
    const typeWidth = Math.max(...s.settings.map((f) => f.type.length));
    for (const f of s.settings) {
      const dflt = f.hasDefault ? `default ${JSON.stringify(f.default)}` : f.required ? 'required' : 'optional';
      lines.push(`  ${f.path.padEnd(width)}  ${f.type.padEnd(typeWidth)}  ${dflt}${f.description ? `  — ${f.description}` : ''}`);
    }
    lines.push('');
  }
  io.stdout(`${lines.join('\n')}`);
  return Promise.resolve(EXIT_OK);
}

function cmdSchema(args: Args, io: Io): Promise<number> {
  const fields = describeFields(args.sweep ? sweepConfigSchema : experimentConfigSchema);
  if (args.json) {
    io.stdout(`${JSON.stringify(fields, null, 2)}\n`);
    return Promise.resolve(EXIT_OK);
  }
  const lines = fields.map((f) => {
    const depth = f.path.split('.').length - 1;
    if (/^\(.*\)$/.test(f.path.split('.').pop()!)) return `${'  '.repeat(depth)}${f.path.split('.').pop()}${f.description ? `: ${f.description}` : ''}`;
    const dflt = f.hasDefault ? ` (default ${JSON.stringify(f.default)})` : f.required ? ' (required)' : '';
    return `${'  '.repeat(depth)}${f.path.split('.').pop()}: ${f.type}${dflt}${f.description ? `\n${'  '.repeat(depth + 1)}${f.description}` : ''}`;
  });
  io.stdout(`${lines.join('\n')}\n`);
  return Promise.resolve(EXIT_OK);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`score-sde: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
