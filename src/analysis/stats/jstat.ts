/**
 * Typed handle on the parts of jStat (https://github.com/jstat/jstat, v1.9.6) used by the
 * statistics module. jstat ships no type declarations; a local interface plus `require` keeps the
 * typing private to this folder (no global `declare module 'jstat'` that could collide with a
 * declaration elsewhere in the workspace).
 *
 * @internal Not re-exported from `src/analysis/stats/index.ts`.
 */
export interface JStatSubset {
  /** Normal distribution: cdf via jStat.erf (Chebyshev fit, Numerical Recipes `erfccheb`), inv via erfcinv + 2 Halley steps. */
  normal: {
    cdf(x: number, mean: number, sd: number): number;
    inv(p: number, mean: number, sd: number): number;
  };
  /** Student t: cdf via jStat.ibeta, inv via jStat.ibetainv (both ~1e-7 relative, see distributions.ts). */
  studentt: {
    cdf(x: number, dof: number): number;
    inv(p: number, dof: number): number;
  };
  /** Chi-square: cdf via jStat.lowRegGamma (regularized lower incomplete gamma). */
  chisquare: {
    cdf(x: number, dof: number): number;
  };
  /** Noncentral t: cdf by the series of Lenth (1989, AS 243 form) on jStat.ibeta (~1e-7 relative). */
  noncentralt: {
    cdf(x: number, dof: number, ncp: number): number;
  };
  /** log Gamma(x), SPECFUN algorithm (Zhang & Jin 1996); accurate to ~1e-15 absolute. */
  loggam(x: number): number;
}

// eslint-disable-next-line @typescript-eslint/no-var-requires
const jstatModule = require('jstat') as { jStat: JStatSubset };

/** The jStat object (the package exports `jStat` and also `jStat.jStat`). */
export const jStat: JStatSubset = jstatModule.jStat;
