import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { loadConfig } from '../configs/load';
import { checkExperiment } from '../configs/resolve';
import { loadSweep } from '../configs/sweep';
import { EXIT_OK } from './exit-codes';

/**
 * `score-sde validate <config|sweep>`: loads and checks a config (a sweep: every cell) without
 * running it, says that it is valid, and prints it resolved (YAML, or JSON with --json; the
 * verdict then goes to stderr so that stdout stays JSON).
 */
export function cmdValidate(args: { config?: unknown; json?: unknown; sets: string[] }, io: { cwd: string; stdout(s: string): void; stderr(s: string): void }): number {
  const file = path.resolve(io.cwd, String(args.config));
  const sets = args.sets;
  // A sweep has `axes:`; anything else is an experiment config.
  let isSweep = false;
  try {
    const doc = YAML.parse(fs.readFileSync(file, 'utf8')) as unknown;
    isSweep = !!doc && typeof doc === 'object' && 'axes' in (doc as object);
  } catch {
    // loadConfig reports it
  }
  let out: unknown;
  let verdict: string;
  if (isSweep) {
    const sweep = loadSweep(file, { sets, cwd: io.cwd });
    out = { sweep: sweep.name, file: sweep.file, base: sweep.baseFile, cells: sweep.cells.map((c) => ({ id: c.id, config: c.config })) };
    verdict = `valid sweep (${sweep.cells.length} cells)`;
  } else {
    const loaded = loadConfig(file, { sets, cwd: io.cwd });
    const checked = checkExperiment(loaded.config, loaded.sources);
    out = {
      ...loaded.config,
      resolved: {
        files: loaded.files,
        sde: checked.sde ?? 'from the model card in the ONNX file (read when the model loads)',
        sampleShape: checked.sampleShape,
        modelCard: checked.cardPath,
        reference: checked.reference ?? 'from the model card (read when the model loads)',
      },
    };
    verdict = 'valid experiment config';
  }
  const line = `${path.relative(io.cwd, file) || file}: ${verdict}`;
  if (args.json) {
    io.stdout(`${JSON.stringify(out, null, 2)}\n`);
    io.stderr(`score-sde: ${line}\n`);
  } else {
    io.stdout(`# ${line}; resolved:\n${YAML.stringify(out, { lineWidth: 0, aliasDuplicateObjects: false })}`);
  }
  return EXIT_OK;
}
