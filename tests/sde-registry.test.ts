/**
 * One source of truth per SDE kind (issue 13): each kind is one registry entry (parameters with
 * defaults + factory), and the config schema, the card schema, the resolver's defaults and
 * makeSDE derive from it. A toy kind registered from this file is accepted by all of them.
 */
import { z } from 'zod';
import { experimentConfigSchema } from '../configs/schema';
import { modelCardSchema, sdeCardSchema } from '../models/card';
import { describeFields } from '../configs/introspect';
import { checkExperiment, resolveSde } from '../configs/resolve';
import { ConfigError } from '../configs/errors';
import { ParameterError } from '../core/errors';
import {
  CosineBetaSchedule,
  MODEL_PARAMS,
  SDE,
  SdeDefinition,
  VPSDE,
  eulerDiscretization,
  makeSDE,
  numericTimeForLambda,
  param,
  paramDefault,
  registerSde,
  sdeDefinition,
  sdeKinds,
  sdeParams,
} from '../sdes';

const MIXTURE = { type: 'mixture', means: [[0, 0]] } as const;
const config = (sde: unknown) => experimentConfigSchema.parse({ sde, model: MIXTURE });
const card = (sde: unknown) => sdeCardSchema.parse(sde);

describe('card schema (derived)', () => {
  test('fills the defaults of the kind and its schedule, and only those', () => {
    expect(card({ kind: 'vp' })).toEqual({ kind: 'vp', schedule: 'linear', betaMin: 0.1, betaMax: 20, T: 1 });
    expect(card({ kind: 've', sigmaMax: 80 })).toEqual({ kind: 've', sigmaMin: 0.01, sigmaMax: 80, T: 1 });
    // A cosine card records its own parameters and gets no meaningless β defaults.
    expect(card({ kind: 'subvp', schedule: 'cosine', cosineS: 0.02 })).toEqual({ kind: 'subvp', schedule: 'cosine', cosineS: 0.02, alphaBarMin: 1e-4, T: 1 });
  });

  test('rejects parameters of another schedule, N, unknown keys and crossed bounds, naming the field', () => {
    const issues = (sde: unknown) => sdeCardSchema.safeParse(sde).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    expect(issues({ kind: 'vp', schedule: 'cosine', betaMax: 10 })).toEqual([
      "betaMax: betaMax is a parameter of the linear schedule, but this vp SDE's schedule is cosine (its parameters: cosineS, alphaBarMin)",
    ]);
    expect(issues({ kind: 'vp', cosineS: 0.01 })[0]).toMatch(/^cosineS: .*schedule is linear/); // a card without schedule is linear
    expect(issues({ kind: 'vp', N: 100 })[0]).toMatch(/Unrecognized key: "N"/);
    expect(issues({ kind: 've', sigmaMin: 5, sigmaMax: 1 })).toEqual(['sigmaMin: sigmaMin must be < sigmaMax (1)']);
    expect(issues({ kind: 'edm' })[0]).toMatch(/Invalid input|discriminator/i);
  });

  test('a model card with a cosine VP SDE parses (it was rejected for cosineS before)', () => {
    const parsed = modelCardSchema.parse({
      format: 'score-sde-card/1',
      name: 'cosine',
      sde: { kind: 'vp', schedule: 'cosine', cosineS: 0.01, alphaBarMin: 1e-3 },
      parameterization: 'eps',
      timeInput: 't',
      sampleShape: [2],
    });
    const sde = makeSDE(parsed.sde) as VPSDE;
    expect(sde.betaSchedule).toBeInstanceOf(CosineBetaSchedule);
    expect(sde.meanCoef(1) ** 2).toBeCloseTo(1e-3, 12);
  });
});

describe('config schema (derived): no schema defaults, the defaults described from the registry', () => {
  test('states only what is written; checks schedules and bounds where stated', () => {
    expect(config({ kind: 'vp' }).sde).toEqual({ kind: 'vp' });
    expect(config({ kind: 'vp', cosineS: 0.02 }).sde).toEqual({ kind: 'vp', cosineS: 0.02 }); // schedule may come from the card
    expect(() => config({ kind: 'vp', schedule: 'cosine', betaMin: 0.2 })).toThrow(/betaMin is a parameter of the linear schedule/);
    expect(() => config({ kind: 've', sigmaMin: 3, sigmaMax: 2 })).toThrow(/sigmaMin must be < sigmaMax \(2\)/);
  });

  test('`score-sde schema` shows every parameter of every kind with the registry default', () => {
    const fields = describeFields(experimentConfigSchema);
    let seen = 0;
    for (const kind of sdeKinds()) {
      for (const [key, p] of Object.entries(sdeParams(sdeDefinition(kind), 'all', true))) {
        const f = fields.find((d) => d.path === `sde.(kind=${kind}).${key}`);
        expect(f?.description).toContain(`Default: ${key === 'N' ? '' : "the card's, else "}${JSON.stringify(paramDefault(p))}.`);
        expect(f?.hasDefault).toBe(false); // no zod default: an omitted value is taken from the card
        seen++;
      }
    }
    expect(seen).toBe(4 + 6 + 6); // ve: σmin σmax T N; vp, subvp: 4 schedule parameters + T N
    expect(fields.find((d) => d.path === 'sde.(kind=vp).schedule')?.description).toMatch(/'linear' \| 'cosine'\. Default: the card's, else 'linear'/);
  });
});

describe('resolver (derived)', () => {
  const cosineCard = card({ kind: 'vp', schedule: 'cosine', alphaBarMin: 1e-3 });
  const withCard = (sde: unknown) => resolveSde(config(sde ?? undefined), { sde: cosineCard } as never, []);

  test('config value, else the card, else the registry default; N the config\'s', () => {
    expect(resolveSde(config({ kind: 'subvp', betaMax: 10 }), undefined, [])).toEqual({ kind: 'subvp', schedule: 'linear', betaMin: 0.1, betaMax: 10, T: 1, N: 1000 });
    expect(withCard({ kind: 'vp', N: 50 })).toEqual({ kind: 'vp', schedule: 'cosine', cosineS: 0.008, alphaBarMin: 1e-3, T: 1, N: 50 });
  });

  test('a stated value the card contradicts, or a parameter of the other schedule, is an error at the field', () => {
    const err = (sde: unknown) => {
      try {
        withCard(sde);
      } catch (e) {
        return (e as ConfigError).issues[0];
      }
      throw new Error('no error');
    };
    expect(err({ kind: 'vp', alphaBarMin: 1e-4 })).toMatchObject({ path: 'sde.alphaBarMin', message: expect.stringMatching(/disagrees with the model card, which says alphaBarMin: 0\.001/) });
    expect(err({ kind: 'vp', schedule: 'linear' })).toMatchObject({ path: 'sde.schedule', message: expect.stringMatching(/which says schedule: "cosine"/) });
    expect(err({ kind: 'vp', betaMax: 5 })).toMatchObject({ path: 'sde.betaMax', message: expect.stringMatching(/betaMax is a parameter of the linear schedule, but this vp SDE's schedule is cosine/) });
  });

  test('makeSDE takes the same defaults as the card and the resolver', () => {
    const sde = makeSDE({ kind: 've' }) as SDE & { sigmaMin: number; sigmaMax: number };
    expect([sde.sigmaMin, sde.sigmaMax, sde.T, sde.N]).toEqual([0.01, 50, 1, 1000]);
    expect(() => makeSDE({ kind: 'edm' })).toThrow(/unknown SDE kind 'edm': expected 've', 'vp' or 'subvp'/);
  });
});

// ---------- a new kind: one definition + one registerSde line ----------

/** σ(t) = c·t with α = 1 (EDM's VE): f = 0, g² = dσ²/dt = 2c²t; its λ is inverted numerically. */
class LinearSigmaSDE implements SDE {
  readonly kind = 'linear_sigma';
  readonly schedule = 'linear-sigma';
  readonly defaultEps = 1e-3;
  readonly T: number;
  readonly N: number;
  readonly c: number;
  constructor(spec: { c: number; T: number; N: number }) {
    ({ c: this.c, T: this.T, N: this.N } = spec);
  }
  get priorStd(): number {
    return this.c * this.T;
  }
  driftCoef(): number {
    return 0;
  }
  diffusion(t: number): number {
    return this.c * Math.sqrt(2 * t);
  }
  meanCoef(): number {
    return 1;
  }
  std(t: number): number {
    return this.c * t;
  }
  lambda(t: number): number {
    return -Math.log(this.c * t);
  }
  timeForLambda(l: number): number {
    return numericTimeForLambda(this, l);
  }
  discretize(t: number, tNext: number) {
    return eulerDiscretization(this, t, tNext);
  }
  langevinAlpha(): number {
    return 1;
  }
}

const TOY: SdeDefinition = {
  kind: 'linear_sigma',
  description: 'σ(t) = c·t, α = 1 (a test kind).',
  params: { c: param(z.number().positive(), 80, 'Slope c of σ(t) = c·t') },
  create: (spec) => new LinearSigmaSDE(spec as never),
};

describe('a toy SDE kind registered before the schemas are built', () => {
  test('is accepted by the config schema, the card schema, the resolver and makeSDE, with its defaults', () => {
    jest.isolateModules(() => {
      /* eslint-disable @typescript-eslint/no-require-imports */
      const registry = require('../sdes/registry') as typeof import('../sdes/registry');
      registry.registerSde(TOY); // the one line
      const schema = require('../configs/schema') as typeof import('../configs/schema');
      const cards = require('../models/card') as typeof import('../models/card');
      const resolve = require('../configs/resolve') as typeof import('../configs/resolve');
      const intro = require('../configs/introspect') as typeof import('../configs/introspect');
      const cfg = schema.experimentConfigSchema.parse({ sde: { kind: 'linear_sigma', c: 2 }, model: MIXTURE });
      expect(cfg.sde).toEqual({ kind: 'linear_sigma', c: 2 });
      expect(cards.sdeCardSchema.parse({ kind: 'linear_sigma' })).toEqual({ kind: 'linear_sigma', c: 80, T: 1 });
      expect(() => cards.sdeCardSchema.parse({ kind: 'linear_sigma', sigmaMax: 3 })).toThrow(/sigmaMax/);
      const checked = resolve.checkExperiment(cfg);
      expect(checked.sde).toEqual({ kind: 'linear_sigma', c: 2, T: 1, N: 1000 });
      const sde = registry.makeSDE(checked.sde!);
      expect(sde.std(0.5)).toBe(1);
      expect(Math.abs(sde.timeForLambda(sde.lambda(0.25)) - 0.25)).toBeLessThan(1e-14);
      const doc = intro.describeFields(schema.experimentConfigSchema).find((f) => f.path === 'sde.(kind=linear_sigma).c');
      expect(doc?.description).toBe("Slope c of σ(t) = c·t. Default: the card's, else 80.");
      // The registry is sealed once schemas exist: a late kind would be silently missing from them.
      expect(() => registry.registerSde({ ...TOY, kind: 'late' })).toThrow(/register SDE kinds before loading configs\/schema/);
    });
  });

  test('negative control: without the registry line the same config and card are rejected', () => {
    expect(experimentConfigSchema.safeParse({ sde: { kind: 'linear_sigma', c: 2 }, model: MIXTURE }).success).toBe(false);
    expect(sdeCardSchema.safeParse({ kind: 'linear_sigma' }).success).toBe(false);
    expect(() => makeSDE({ kind: 'linear_sigma' })).toThrow(ParameterError);
    expect(() => registerSde(TOY)).toThrow(/already built/);
    expect(Object.keys(MODEL_PARAMS)).toEqual(['T']);
  });
});
