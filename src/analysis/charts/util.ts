/**
 * Small display helpers of the chart builders (rounding, jitter, ticks). Every statistic (box
 * statistics, quantiles, t intervals) comes from the analysis model (src/analysis/model).
 */

export { roundNoise as clean } from '../model/percent';

/** Deterministic jitter in [-width/2, width/2] from a string key (FNV-1a hash), so figures are reproducible. */
export function jitterFor(key: string, width: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h / 0xffffffff - 0.5) * width;
}

/** A "nice" tick step (1, 2, 2.5, 5 x 10^k) giving roughly `targetTicks` ticks over `span`. */
export function niceStep(span: number, targetTicks = 10): number {
  if (!(span > 0)) return 1;
  const raw = span / targetTicks;
  const pow = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * pow >= raw) return m * pow;
  return 10 * pow;
}

/** Formats a number for legends / hover text without float noise. */
export function fmt(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return String(x);
  return Number(x.toFixed(digits)).toString();
}
