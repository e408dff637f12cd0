import { defineSolver } from './solver';
import { evaluationsWith } from './exponential';
import { solverSettings } from './settings';
import { dpmppSettings, runDpmpp } from './dpmpp-multistep';

/** DPM-Solver++(2M): second-order multistep on the data prediction, one evaluation per step (./dpmpp-multistep.ts). */
export const dpmpp2m = defineSolver({
  name: 'dpmpp_2m',
  family: 'ode',
  summary: 'DPM-Solver++(2M): multistep on the data prediction (order 2, 1 evaluation per step)',
  adaptive: false,
  budget: ['steps', 'nfe'],
  settings: solverSettings(dpmppSettings),
  evaluations: (steps, st) => evaluationsWith(1, steps, st),
  run: (ctx, st) => runDpmpp(ctx, 'dpmpp_2m', 2, st),
});
