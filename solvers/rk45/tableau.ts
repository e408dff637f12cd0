/**
 * Dormand–Prince 5(4) (Dormand & Prince 1980). The last row of A equals the 5th-order weights, so
 * the 7th stage is the slope at the new point: the first stage of the next step (FSAL).
 */
export const DOPRI5 = {
  /** Stage times c_s (as fractions of the step). */
  c: [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1],
  /** a[s][j]: stage s's input is y + h·Σ_{j<s} a[s][j]·k_j; a[6] are the 5th-order weights b. */
  a: [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
    [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
  ],
  /** 5th- minus embedded 4th-order weights: the local error estimate is h·Σ e_j k_j. */
  e: [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40],
  /** Order of the error estimate's exponent: h ∝ err^(−1/5). */
  errorExponent: 1 / 5,
} as const;

export const STAGES = DOPRI5.c.length;
