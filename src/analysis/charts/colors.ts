/**
 * Consistent per-arm colours for all figures of the workspace.
 *
 * Well-known arm names get fixed colours (so "step" is the same blue in every figure, whatever
 * other arms a figure shows); other arms take the remaining colours of a colour-blind-friendly
 * palette in natural-sort order.
 */

/** Okabe-Ito-like colour-blind-friendly palette (hex). */
export const CHART_PALETTE: readonly string[] = [
  '#0072B2', // blue
  '#D55E00', // vermillion
  '#009E73', // bluish green
  '#CC79A7', // reddish purple
  '#E69F00', // orange
  '#56B4E9', // sky blue
  '#7F7F7F', // grey
  '#F0E442', // yellow
  '#000000',
];

/** Fixed colours for the arm names used by the protocols (matched by {@link armColor}'s rules). */
const KNOWN_ARMS: ReadonlyArray<{ test: RegExp; color: string }> = [
  { test: /^(step|step[-_ ]?decay|resnet|multistep)/i, color: '#0072B2' },
  { test: /^(constant|const|fixed)/i, color: '#7F7F7F' },
  // SGDR cycle lengths: "cycle14", "c-14", "len_14", and the protocols' "cosine-14" / "sgdr-14".
  { test: /(cycle|c|len|cos|cosine|sgdr)[-_ =]?0*14(?!\d)/i, color: '#009E73' },
  { test: /(cycle|c|len|cos|cosine|sgdr)[-_ =]?0*7(?!\d)/i, color: '#CC79A7' },
  { test: /(cycle|c|len|cos|cosine|sgdr)[-_ =]?0*1(?!\d)/i, color: '#E69F00' },
  { test: /^(cos|cosine|sgdr|warm)/i, color: '#D55E00' },
];

/** Natural (numeric-aware) comparison of arm names, e.g. "cycle7" < "cycle14". */
export function compareArmNames(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true, sensitivity: 'base' });
}

/**
 * Ordered, de-duplicated arm list: `preferred` arms first (in that order, only those present),
 * then the remaining ones in natural-sort order.
 */
export function orderArms(present: Iterable<string>, preferred?: readonly string[]): string[] {
  const set = new Set(present);
  const head = (preferred ?? []).filter((a) => set.has(a));
  const rest = [...set].filter((a) => !head.includes(a)).sort(compareArmNames);
  return [...head, ...rest];
}

/**
 * Colour of each arm: explicit `overrides` first, then the fixed colour of a well-known arm name
 * (step, constant, cosine/SGDR, cycle 1/7/14 as in "cycle7", "c14" or the
 * protocols' "cosine-7" / "cosine-14"), then unused palette colours in natural-sort order.
 */
export function armColors(arms: Iterable<string>, overrides: Record<string, string> = {}): Record<string, string> {
  const list = [...new Set(arms)].sort(compareArmNames);
  const result: Record<string, string> = {};
  const used = new Set<string>();
  for (const arm of list) {
    if (overrides[arm]) {
      result[arm] = overrides[arm];
      used.add(overrides[arm].toLowerCase());
    }
  }
  for (const arm of list) {
    if (result[arm]) continue;
    const known = KNOWN_ARMS.find((k) => k.test.test(arm));
    if (known && !used.has(known.color.toLowerCase())) {
      result[arm] = known.color;
      used.add(known.color.toLowerCase());
    }
  }
  let next = 0;
  for (const arm of list) {
    if (result[arm]) continue;
    while (next < CHART_PALETTE.length && used.has(CHART_PALETTE[next].toLowerCase())) next++;
    const color = CHART_PALETTE[next % CHART_PALETTE.length] ?? '#333333';
    // When the palette is exhausted colours repeat; figures with > 9 arms should pass overrides.
    result[arm] = color;
    used.add(color.toLowerCase());
    next++;
  }
  return result;
}

/** Colour of a single arm in the context of `allArms` (see {@link armColors}). */
export function armColor(arm: string, allArms: Iterable<string> = [arm], overrides?: Record<string, string>): string {
  return armColors([...allArms, arm], overrides)[arm];
}

/** `#rrggbb` (or `#rgb`) to `rgba(r,g,b,alpha)`; other CSS colours are returned unchanged. */
export function withAlpha(color: string, alpha: number): string {
  let hex = color.trim();
  if (/^#[0-9a-f]{3}$/i.test(hex)) hex = '#' + [...hex.slice(1)].map((c) => c + c).join('');
  if (!/^#[0-9a-f]{6}$/i.test(hex)) return color;
  const r = parseInt(hex.slice(1, 3), 16);
  const g = parseInt(hex.slice(3, 5), 16);
  const b = parseInt(hex.slice(5, 7), 16);
  return `rgba(${r},${g},${b},${alpha})`;
}
