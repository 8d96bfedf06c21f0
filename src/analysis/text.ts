/**
 * The plain-text views of the analysis model, printed by `npm run analyze` (analysisText) and at
 * the end of `npm start` (headlineText). They render a {@link ProtocolAnalysis} and compute no
 * statistic; the comparisons keep the model's direction (protocol order, step always as B) and the
 * number formats of src/analysis/format.ts, so they print what the markdown report prints.
 */
import { DASH, fmt, fmtP, fmtPct, kmMedianText, pctTarget, powerCells, welchCells } from './format';
import type { ArmAnalysis, LogRankSummary, ProtocolAnalysis } from './model';

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r, k) => {
    const line = r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
    return k === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}

function testErrorText(a: ArmAnalysis): string {
  if (!a.testError) return DASH;
  return `${fmtPct(a.testError.mean)} ${a.testError.ci ? `[${fmtPct(a.testError.ci[0])}, ${fmtPct(a.testError.ci[1])}]` : '(n = 1)'}`;
}

/** "reached/total": runs that reached the target / finished runs in the survival analysis. */
function reachedText(a: ArmAnalysis): string {
  return `${a.reached}/${a.kmEpochs ? a.kmEpochs.n : a.n}`;
}

function logRankLine(t: LogRankSummary): string {
  if (!t.result) return `log-rank (${t.metric}): ${t.note ?? 'not computed'}`;
  return `log-rank (${t.metric}, ${t.arms.join(' vs ')}): chi-square ${fmt(t.result.chiSquare, 3)}, df ${t.result.df}, p ${fmtP(t.result.p)}${t.note ? ` (${t.note})` : ''}`;
}

function setupLine(p: ProtocolAnalysis): string {
  const s = p.setup;
  return [
    `${p.runs} run${p.runs === 1 ? '' : 's'}`, `data ${s.dataset}`,
    p.target !== null ? `target ${pctTarget(p.target)} validation accuracy` : 'no target',
    s.maxEpochs !== null ? `at most ${s.maxEpochs} epoch${s.maxEpochs === 1 ? '' : 's'}` : null,
  ].filter(Boolean).join(', ');
}

/**
 * The full text analysis of one or more protocols: per-arm table (finished runs, reached/total,
 * Kaplan–Meier median epochs and seconds to target with 95% CI, final test error with its 95%
 * t interval), log-rank tests, Welch t-tests (A − B; test error in percentage points) and the
 * power of each Welch test.
 * @param analyses from analyzeResults / analyzeProtocol
 */
export function analysisText(analyses: readonly ProtocolAnalysis[]): string {
  if (analyses.length === 0) return 'no runs in the results store';
  const out: string[] = [];
  for (const p of analyses) {
    out.push(`== ${p.protocol}: ${setupLine(p)} ==`);
    if (p.setupDeviations.length) out.push(`not interpretable as the ${p.protocol} protocol: ${p.setupDeviations.join('; ')}`);
    out.push(table([
      ['arm', 'finished', 'reached/total', 'failed', 'running', 'KM median epochs [95% CI]', 'KM median seconds [95% CI]', 'KM median CPU seconds [95% CI]', 'final test error [95% CI]'],
      ...p.arms.map((a) => [a.arm, String(a.n), p.target === null ? DASH : reachedText(a), String(a.failed), String(a.running),
        kmMedianText(a.kmEpochs), kmMedianText(a.kmSeconds), kmMedianText(a.kmCpuSeconds), testErrorText(a)]),
    ]), '');
    p.logRank.forEach((t) => out.push(logRankLine(t)));
    if (p.logRank.length) out.push('');
    if (p.comparisons.length) {
      out.push('Welch t-tests (A − B, two-sided; times over the runs that reached the target only, see Kaplan–Meier / log-rank; test error in pp):');
      out.push(table([
        ['measure', 'arms (A − B)', 'nA', 'nB', 'means', 'mean difference', 'Welch 95% CI', 't', 'df', 'p', 'note'],
        ...p.comparisons.map((c) => {
          const w = welchCells(c);
          const censored = c.censoredExcludedA + c.censoredExcludedB > 0 ? `${c.censoredExcludedA} + ${c.censoredExcludedB} censored runs excluded` : '';
          return [c.measure, `${c.armA} − ${c.armB}`, String(c.nA), String(c.nB), w.means, w.difference, w.ci, w.t, w.df, w.p,
            [censored, c.welchNote ?? ''].filter(Boolean).join('; ')];
        }),
      ]), '');
      out.push('Power (Welch, two-sided, alpha 0.05, 80% power, from the arms\' SDs; runs per arm rounded up):');
      out.push(table([
        ['measure', 'arms (A − B)', 'SD A / SD B', 'detectable difference', 'runs per arm: observed difference', "runs per arm: original study's difference", 'note'],
        ...p.comparisons.map((c) => {
          const w = powerCells(c);
          return [c.measure, `${c.armA} − ${c.armB}`, w.sds, w.detectable, w.forObserved, w.forReference, c.powerNote ?? ''];
        }),
      ]), '');
    }
    const notes = [...p.notes, ...p.arms.flatMap((a) => a.notes)];
    notes.forEach((n) => out.push(`note: ${n}`));
    if (notes.length) out.push('');
  }
  return out.join('\n').trimEnd();
}

/**
 * The short headline printed at the end of `npm start`: per arm the runs that reached the target,
 * the Kaplan–Meier median epochs and seconds to target with 95% CI; the log-rank p-values; the
 * Welch test on final test error; then where the report and charts were written.
 * @param p the protocol's analysis
 * @param written report file and chart files / formats, when written
 */
export function headlineText(p: ProtocolAnalysis, written?: { report: string; charts: string }): string {
  const out: string[] = [`== ${p.protocol} headline: ${setupLine(p)} ==`];
  if (p.setupDeviations.length) out.push(`not interpretable as the ${p.protocol} protocol: ${p.setupDeviations.join('; ')}`);
  const width = Math.max(...p.arms.map((a) => a.arm.length));
  for (const a of p.arms) {
    out.push(`${`${a.arm}:`.padEnd(width + 1)} ${reachedText(a)} reached ${pctTarget(p.target)}; Kaplan–Meier median ${kmMedianText(a.kmEpochs)} epochs, ` +
      `${kmMedianText(a.kmSeconds)} s${a.kmCpuSeconds ? ` (CPU ${kmMedianText(a.kmCpuSeconds)} s)` : ''}; final test error ${testErrorText(a)}`);
  }
  const lr = p.logRank.map((t) => `${t.metric} p ${t.result ? fmtP(t.result.p) : `– (${t.note ?? 'not computed'})`}`);
  if (lr.length) out.push(`log-rank: ${lr.join(', ')}`);
  for (const c of p.comparisons.filter((x) => x.measure === 'final test error')) {
    const w = welchCells(c);
    out.push(`final test error, Welch ${c.armA} − ${c.armB}: ${c.welch ? `${w.means} %, difference ${w.difference} ${w.ci}, t ${w.t}, df ${w.df}, p ${w.p}` : c.welchNote ?? 'not computed'}`);
    const pc = powerCells(c);
    if (c.power) out.push(`  power: with ${c.power.n} runs per arm the smallest difference detected with 80% power is ${pc.detectable.replace(/ \(n = \d+\)$/, '')}; the observed one needs ${pc.forObserved.replace(/ \(for .*\)$/, '')} runs per arm`);
  }
  if (written) out.push(`report: ${written.report}`, `charts: ${written.charts}`);
  return out.join('\n');
}
