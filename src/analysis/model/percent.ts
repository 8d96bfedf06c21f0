/** The one format of a fraction as a percentage in every view's sentences, titles and legends. */

/**
 * A fraction as a percentage with at most 2 decimals, trailing zeros dropped: 0.85 -> "85%",
 * 0.9098 -> "90.98%", 0.0875 -> "8.75%".
 */
export function targetPercent(fraction: number): string {
  return `${+(fraction * 100).toFixed(2)}%`;
}

/** Rounds away binary floating-point noise (e.g. 8.979999999999999 -> 8.98) while keeping 10 decimals. */
export function roundNoise(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1e10) / 1e10 : x;
}
