import type { GaussianMixtureScore, ScoreModel } from '../../index';

/** The exact model with its divergence scaled by `factor`: a deliberately wrong divergence (negative controls). */
export function scaledDivergence(model: GaussianMixtureScore, factor: number): ScoreModel {
  return {
    sampleShape: model.sampleShape,
    score: (x, t, out) => model.score(x, t, out),
    async scoreDivergence(x, t, out, div) {
      await model.scoreDivergence(x, t, out, div);
      for (let i = 0; i < div.length; i++) div[i] *= factor;
    },
  };
}
