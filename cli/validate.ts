import * as path from 'path';
import * as YAML from 'yaml';
import { loadConfig, readConfigFile } from '../configs/load';
import { checkExperiment } from '../configs/resolve';
import { loadSweep } from '../configs/sweep';
import { EXIT_OK } from './exit-codes';
import { defaultRunDir, samplesBytes } from './experiment';
import { checkOutputDir } from './run-folder';

/**
 * `score-sde validate <config|sweep>`: loads and checks a config (a sweep: every cell) without
 * running it, says that it is valid, and prints it resolved (YAML, or JSON with --json; the
 * verdict then goes to stderr so that stdout stays JSON).
 */
export function cmdValidate(args: { config?: unknown; json?: unknown; sets: string[] }, io: { cwd: string; stdout(s: string): void; stderr(s: string): void }): number {
  const file = path.resolve(io.cwd, String(args.config));
  const sets = args.sets;
  // A sweep has `axes:`; anything else is an experiment config. (Read with the config reader's
  // limits: a plain YAML.parse of a hostile file can abort the process.)
  const isSweep = 'axes' in readConfigFile(file).value;
  let out: unknown;
  let verdict: string;
  if (isSweep) {
    const sweep = loadSweep(file, { sets, cwd: io.cwd });
    out = { sweep: sweep.name, file: sweep.file, base: sweep.baseFile, cells: sweep.cells.map((c) => ({ id: c.id, config: c.config })) };
    verdict = `valid sweep (${sweep.cells.length} cells)`;
  } else {
    const loaded = loadConfig(file, { sets, cwd: io.cwd });
    const checked = checkExperiment(loaded.config, loaded.sources);
    // What the run would write, where: a folder it can create, with room for samples.npy. (The
    // default folder under the working directory is not required to be writable: run may get --out.)
    const dir = loaded.config.output.dir ?? defaultRunDir(loaded.config, io.cwd);
    const bytes = checked.sampleShape ? samplesBytes(loaded.config, checked.sampleShape) : 0;
    checkOutputDir(dir, loaded.config.output.dir ? 'output.dir' : 'the default run folder', bytes, { writable: loaded.config.output.dir !== undefined });
    out = {
      ...loaded.config,
      resolved: {
        files: loaded.files,
        sde: checked.sde ?? 'from the model card in the ONNX file (read when the model loads)',
        sampleShape: checked.sampleShape,
        modelCard: checked.cardSource,
        reference: checked.reference ?? 'from the model card (read when the model loads)',
        features: checked.features ?? 'from the model card (read when the model loads)',
        ...(checked.labels
          ? { labels: { classes: checked.labels.labels.map((l) => `${l} ${checked.labels!.classes[l]}`), guidanceScale: checked.labels.scale, w: checked.labels.scale - 1 } }
          : {}),
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
