import * as fs from 'fs';
import * as path from 'path';
import { ParameterError } from '../core/errors';
import { packageInfo } from '../core/package-info';
import { ModelCard, modelCardSchema } from './card';

/**
 * The networks shipped inside the package, by name: the path under `models/` without `.onnx`
 * (`fashion-mnist/unet-vp`, `toy2d/mixture-vp`, `exact/mixture-vp-t-score`). Names resolve
 * against the installed package, not the working directory, so they work from any folder.
 */

/** A shipped network: its name, absolute path, and what its card says in one line. */
export interface ShippedModel {
  name: string;
  path: string;
  /** One line from the card: `VP, eps(x, t), [1, 28, 28], fashion-mnist: Small U-Net predicting ...`. */
  summary: string;
  card: ModelCard;
}

/** Prefix that marks a shipped network's name where a file path is expected (configs). */
export const SHIPPED_PREFIX = 'shipped:';

/** The folder holding the shipped networks (`<package>/models`). */
export function shippedModelsDir(): string {
  return path.join(packageInfo().root, 'models');
}

/** Every shipped network, sorted by name, with a one-line summary from its card. */
export function listShipped(): ShippedModel[] {
  const root = shippedModelsDir();
  const out: ShippedModel[] = [];
  for (const group of fs.readdirSync(root, { withFileTypes: true })) {
    if (!group.isDirectory()) continue;
    for (const file of fs.readdirSync(path.join(root, group.name))) {
      if (!file.endsWith('.onnx')) continue;
      const abs = path.join(root, group.name, file);
      const card = readShippedCard(abs);
      if (!card) continue;
      out.push({ name: `${group.name}/${file.slice(0, -'.onnx'.length)}`, path: abs, summary: summarize(card), card });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The absolute path of a shipped network, e.g. `shipped('fashion-mnist/unet-vp')` →
 * `<package>/models/fashion-mnist/unet-vp.onnx`; for `loadOnnxScoreModel(shipped(...))`.
 * Also accepts the name with the `shipped:` prefix or the `.onnx` suffix. An unknown name is a
 * ParameterError listing the names there are.
 */
export function shipped(name: string): string {
  const bare = name.startsWith(SHIPPED_PREFIX) ? name.slice(SHIPPED_PREFIX.length) : name;
  const rel = bare.endsWith('.onnx') ? bare : `${bare}.onnx`;
  const abs = path.resolve(shippedModelsDir(), rel);
  if (path.dirname(path.dirname(abs)) === shippedModelsDir() && fs.existsSync(abs)) return abs;
  const names = listShipped().map((m) => m.name);
  throw new ParameterError(`no shipped network named '${bare}'; shipped: ${names.join(', ')} (list them with \`score-sde inspect --list\`)`);
}

function readShippedCard(onnxFile: string): ModelCard | undefined {
  const cardFile = onnxFile.replace(/\.onnx$/, '.card.json');
  if (!fs.existsSync(cardFile)) return undefined;
  const parsed = modelCardSchema.safeParse(JSON.parse(fs.readFileSync(cardFile, 'utf8')));
  return parsed.success ? parsed.data : undefined;
}

const SDE_NAMES: Readonly<Record<string, string>> = { ve: 'VE', vp: 'VP', subvp: 'sub-VP' };

/** The card's facts, what the network is (its description up to the first detail), its size or variant. */
function summarize(card: ModelCard): string {
  const head = `${SDE_NAMES[card.sde.kind] ?? card.sde.kind}, ${card.parameterization}(x, ${card.timeInput}), [${card.sampleShape.join(', ')}]${card.data ? `, ${card.data.name}` : ''}`;
  const description = card.description ?? '';
  const what = description.split(/ \(| predicting | under |[.:;]/)[0].trim();
  const params = card.training?.params;
  const variant = /output '[^']*', ([^.]*)/.exec(description)?.[1];
  const extra = typeof params === 'number' ? `${Math.round(params / 1000)}k params` : variant;
  return [head, [what, extra].filter(Boolean).join(', ')].filter(Boolean).join(': ');
}
