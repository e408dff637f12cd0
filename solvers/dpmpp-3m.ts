import { defineSolver } from './solver';
import { evaluationsWith } from './exponential';
import { solverSettings } from './settings';
import { dpmppSettings, runDpmpp } from './dpmpp-multistep';

/** DPM-Solver++(3M): third-order multistep on the data prediction, one evaluation per step (./dpmpp-multistep.ts). */
export const dpmpp3m = defineSolver({
  name: 'dpmpp_3m',
  family: 'ode',
  summary: 'DPM-Solver++(3M): multistep on the data prediction (order 3, 1 evaluation per step)',
  adaptive: false,
  budget: ['steps', 'nfe'],
  settings: solverSettings(dpmppSettings),
  evaluations: (steps, st) => evaluationsWith(1, steps, st),
  run: (ctx, st) => runDpmpp(ctx, 'dpmpp_3m', 3, st),
});
