import { ClassConditioning } from '../core/score';
import { ConfigError, ConfigIssue } from './errors';
import { PathKey, Source, locate } from './locate';
import { ExperimentConfig } from './schema';

/**
 * Class labels and classifier-free guidance of a config, against what the model can take: the
 * card's `conditioning` (an ONNX network with a label input) or an inline mixture's `classes`.
 * Errors name the field: labels or guidance for a model without a label input, guidance without
 * labels, a label out of range or a class name the model does not know.
 */
export interface LabelPlan {
  /** Class index per sample, cycled (sample i gets labels[i mod length]). */
  labels: number[];
  /** γ of γ·s(x, y) + (1 − γ)·s(x): guidance.scale, or 1 + guidance.w, or 1 without guidance. */
  scale: number;
  /** Where the scale came from. */
  given: 'scale' | 'w' | 'none';
  classes: readonly string[];
}

function issue(sources: readonly Source[], keyPath: PathKey[], message: string, value?: unknown): ConfigError {
  const at: Partial<ConfigIssue> = locate(sources, keyPath);
  return ConfigError.at({ ...at, path: keyPath.join('.'), message, value, hasValue: value !== undefined });
}

/** The classes of an inline mixture with `classes` (null label K), else undefined. */
export function inlineConditioning(config: ExperimentConfig): ClassConditioning | undefined {
  const m = config.model;
  return m.type === 'mixture' && m.classes ? { classes: m.classes, nullLabel: m.classes.length } : undefined;
}

/**
 * The labels and guidance scale, or undefined for unconditional sampling. `conditioning`: the
 * model's (undefined: it takes no label); `model.where` names the model in messages, `model.why`
 * says why it takes no label.
 */
export function resolveLabels(
  config: ExperimentConfig,
  conditioning: ClassConditioning | undefined,
  model: { where: string; why: string },
  sources: readonly Source[],
): LabelPlan | undefined {
  const spec = config.sampling.labels;
  const guidance = config.guidance;
  const modelWhere = model.where;
  if (!conditioning) {
    if (spec !== undefined) throw issue(sources, ['sampling', 'labels'], `${modelWhere} takes no class label (${model.why}); drop sampling.labels`, spec);
    if (guidance) throw issue(sources, ['guidance'], `classifier-free guidance needs a class-conditional model with a label input; ${modelWhere} has none (${model.why})`, guidance);
    return undefined;
  }
  if (spec === undefined) {
    if (guidance) throw issue(sources, ['guidance'], 'guidance needs sampling.labels: the class of each sample (a label, a list, or all)', guidance);
    return undefined;
  }
  const { classes } = conditioning;
  const one = (label: number | string, at: PathKey[]): number => {
    if (typeof label === 'number') {
      if (label >= classes.length) throw issue(sources, at, `label ${label} is out of range: ${modelWhere} has classes 0 … ${classes.length - 1} (${listClasses(classes)})`, label);
      return label;
    }
    const exact = classes.indexOf(label);
    if (exact >= 0) return exact;
    const folded = classes.findIndex((c) => c.toLowerCase() === label.toLowerCase());
    if (folded >= 0) return folded;
    throw issue(sources, at, `unknown class '${label}': ${modelWhere} has classes ${listClasses(classes)}`, label);
  };
  const labels =
    spec === 'all' ? classes.map((_, i) => i) : Array.isArray(spec) ? spec.map((l, i) => one(l, ['sampling', 'labels', i])) : [one(spec, ['sampling', 'labels'])];
  const scale = guidance?.scale ?? (guidance?.w !== undefined ? 1 + guidance.w : 1);
  const given = guidance?.scale !== undefined ? 'scale' : guidance?.w !== undefined ? 'w' : 'none';
  return { labels, scale, given, classes };
}

function listClasses(classes: readonly string[]): string {
  return classes.map((c, i) => `${i} '${c}'`).join(', ');
}
