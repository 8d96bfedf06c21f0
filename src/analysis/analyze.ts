/**
 * The text analysis printed by `npm start` and `npm run analyze`: per-arm table and Welch t-tests
 * between the arms of each protocol.
 */
import type { RunRecord } from '../runs/types';
import { compareArms, formatArmTable, formatComparisons, summarizeArms } from './summary';

/**
 * Builds the analysis text for saved runs.
 * @param runs runs of one or more protocols
 */
export function analysisText(runs: RunRecord[]): string {
  if (runs.length === 0) return 'no runs in the results store';
  const out: string[] = [];
  const protocols = [...new Set(runs.map((r) => r.protocol))];
  for (const p of protocols) {
    const pr = runs.filter((r) => r.protocol === p);
    const arms = summarizeArms(pr);
    out.push(`== ${p}: ${pr.length} runs ==`, formatArmTable(arms), '');
    const names = arms.map((a) => a.arm);
    const comparisons = [];
    for (let i = 0; i < names.length; i++) for (let j = i + 1; j < names.length; j++) comparisons.push(...compareArms(pr, names[i], names[j]));
    if (comparisons.length) {
      out.push(`Welch t-tests (unequal variances, Welch–Satterthwaite df, two-sided):`, formatComparisons(comparisons), '');
    }
  }
  return out.join('\n');
}
