import { SDE } from './sde';
import { VESDE, VeOptions } from './ve';
import { SubVPSDE, VPSDE, VpOptions } from './vp';
import { ParameterError } from '../core/errors';

export type SdeSpec =
  | ({ kind: 've' } & VeOptions)
  | ({ kind: 'vp' } & VpOptions)
  | ({ kind: 'subvp' } & VpOptions);

/** Builds an SDE from a plain description, as configs and model cards give it. */
export function makeSDE(spec: SdeSpec): SDE {
  switch (spec.kind) {
    case 've':
      return new VESDE(spec);
    case 'vp':
      return new VPSDE(spec);
    case 'subvp':
      return new SubVPSDE(spec);
    default:
      throw new ParameterError(
        `unknown SDE kind '${String((spec as { kind: unknown }).kind)}': expected 've', 'vp' or 'subvp'`,
      );
  }
}
