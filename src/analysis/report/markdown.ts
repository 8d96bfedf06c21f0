/**
 * Markdown of the report (reports/report.md) and of its sections, for the notebook too.
 * Numbers that cannot be computed are replaced by sentences that say why; no NaN is printed.
 */
import * as path from 'node:path';
import type { ExportResult } from '../charts/export';
import {
  ORIGINAL_STUDY, PAPER_TEST_ERROR,
  type ArmAnalysis, type LogRankSummary, type MeasureComparison, type ProtocolAnalysis, type SampleSummary, type SurvivalSummary,
} from '../model';
import type { ReportFigure } from './figures';
import { originalStudyMarkdown } from './original';
import { ci, DASH, fmt, fmtP, fmtPct, markdownTable as table, pctTarget, powerCells, welchCells } from '../format';

export { fmt, fmtP, fmtPct } from '../format';
export { originalStudyMarkdown } from './original';

function sampleCells(s: SampleSummary | null, digits: number): string[] {
  if (!s) return [DASH, DASH, DASH];
  return [fmt(s.mean, digits), fmt(s.median, digits), s.sd === null ? 'n = 1' : fmt(s.sd, digits)];
}

/** Per-arm table: n, reached, censored, mean/median/sd epochs and seconds to target, final test error with 95% CI. */
export function armTableMarkdown(p: ProtocolAnalysis): string {
  const rows = p.arms.map((a) => [
    a.arm, String(a.n), String(a.reached), String(a.censored),
    ...(a.diverged || a.failed || a.running ? [`${a.diverged} / ${a.failed} / ${a.running}`] : ['0']),
    ...sampleCells(a.epochs, 2), ...sampleCells(a.seconds, 1),
    a.testError ? fmtPct(a.testError.mean) : DASH,
    a.testError?.ci ? ci(a.testError.ci[0], a.testError.ci[1], (v) => fmtPct(v)) : a.testError ? 'n = 1' : DASH,
  ]);
  const out = [table(
    ['arm', 'n', 'reached', 'censored', 'diverged / failed / running', 'epochs to target: mean', 'median', 'sd', 'seconds to target: mean', 'median', 'sd', 'final test error: mean', '95% CI'],
    rows,
  )];
  out.push('', `n counts finished runs (completed, censored or diverged); failed and still-running runs are listed apart and not analysed. ` +
    `Epochs and seconds to ${pctTarget(p.target)} are over the runs that reached it only (censored runs excluded, see below); ` +
    `test error over finished, non-diverged runs, with the Student-t 95% interval of the mean. ` +
    'Seconds are wall-clock training time (evaluation excluded) on the machine that trained the run, so they also reflect its hardware and any other load on it.');
  const sentences = p.arms.flatMap((a) => [...a.notes, ...(a.testErrorNote && a.n > 0 ? [`${a.arm}, final test error: ${a.testErrorNote}`] : [])]);
  if (sentences.length) out.push('', ...sentences.map((s) => `- ${s[0].toUpperCase()}${s.slice(1)}.`));
  return out.join('\n');
}

function kmCell(s: SurvivalSummary | null, digits: number): string[] {
  if (!s) return [DASH, DASH, DASH, DASH];
  return [String(s.n), String(s.events), s.median === null ? 'not reached' : fmt(s.median, digits), ci(s.lower, s.upper, (v) => fmt(v, digits))];
}

/** Kaplan–Meier medians (epochs and seconds) per arm and the log-rank tests. */
export function survivalMarkdown(p: ProtocolAnalysis): string {
  if (p.target === null) return `Protocol ${p.protocol} has no validation-accuracy target, so there is no time-to-target analysis.`;
  const out: string[] = [];
  out.push(
    `Censoring-aware view of the time to ${pctTarget(p.target)}: runs that never reached the target are right-censored at the ` +
    `epoch (or training second) they stopped. Kaplan–Meier estimate (Kaplan & Meier 1958) of the fraction of runs not yet at the target; the median is the first time ` +
    `the curve is at or below 0.5, its 95% CI comes from the log-transformed Greenwood band (R survfit's default; an upper bound the band never reaches is "not reached", a lower bound that cannot be estimated is NA, as R prints it). ` +
    `Assumption: censoring is non-informative (here it happens at the fixed epoch budget, independent of how a run was doing).`,
    '',
    table(['arm', 'runs', 'reached', 'median epochs', '95% CI', 'median seconds', '95% CI'],
      p.arms.map((a) => {
        const e = kmCell(a.kmEpochs, 1);
        const s = kmCell(a.kmSeconds, 1);
        return [a.arm, a.kmEpochs ? e[0] : a.n === 0 ? 'no runs' : '0', a.kmEpochs ? e[1] : DASH, e[2], e[3], s[2], s[3]];
      })),
  );
  const allCensored = (n: string | null | undefined) => !!n && n.startsWith('median not reached: all');
  const notes = p.arms.flatMap((a) => [a.kmEpochs?.note, a.kmSeconds?.note && !allCensored(a.kmEpochs?.note) && a.kmSeconds.note !== a.kmEpochs?.note ? `${a.kmSeconds.note} (seconds)` : null]
    .filter((x): x is string => !!x).map((n) => `${a.arm}: ${n}`));
  const emptyArms = p.arms.filter((a) => !a.kmEpochs).map((a) => `${a.arm}: no finished runs, no Kaplan–Meier estimate`);
  const excluded = p.arms.flatMap((a) => a.survivalExcluded.map((x) => `${a.arm}: ${x} left out of the survival analysis`));
  if (notes.length + emptyArms.length + excluded.length) out.push('', ...[...notes, ...emptyArms, ...excluded].map((s) => `- ${s}.`));
  const warn = notInterpretableHeading(p);
  if (warn) out.push('', `**${warn}.** The log-rank p-values below describe this smaller setup only, not the protocol's question.`);
  out.push('', logRankMarkdown(p.logRank));
  return out.join('\n');
}

function logRankMarkdown(tests: LogRankSummary[]): string {
  const out: string[] = [
    'Log-rank test (Mantel–Haenszel; R `survdiff`, rho = 0) of H0: the arms have the same time-to-target distribution, using censored runs. ' +
    'Assumptions: independent runs, non-informative censoring; it has most power when the hazards are proportional; p from the chi-square approximation.',
    '',
  ];
  const rows = tests.map((t) => {
    if (!t.result) return [t.metric, t.arms.join(' vs ') || DASH, DASH, DASH, DASH, DASH, t.note ?? ''];
    const r = t.result;
    return [t.metric, t.arms.join(' vs '), r.observed.map((o, i) => `${o} / ${fmt(r.expected[i], 2)}`).join('; '), fmt(r.chiSquare, 3), String(r.df), fmtP(r.p), t.note ?? ''];
  });
  out.push(table(['time in', 'arms', 'observed / expected events', 'chi-square', 'df', 'p', 'note'], rows));
  return out.join('\n');
}

/**
 * The heading line put above a protocol's tests when its runs deviate from the protocol's setup
 * (`setupDeviations`): "Not interpretable: these runs deviate from the protocol (...)"; null otherwise.
 */
export function notInterpretableHeading(p: ProtocolAnalysis): string | null {
  if (!p.setupDeviations?.length) return null;
  return `Not interpretable: these runs deviate from the ${p.protocol} protocol (${p.setupDeviations.join('; ')})`;
}

/**
 * Between-arm tests: Welch t (mean difference with its CI), Hedges' g with CI, Mann–Whitney U.
 * When the runs deviate from the protocol's setup the tests are still shown, under a
 * "Not interpretable" line ({@link notInterpretableHeading}).
 */
export function comparisonsMarkdown(p: ProtocolAnalysis): string {
  if (p.comparisons.length === 0) {
    const present = p.arms.filter((a) => a.n > 0).map((a) => a.arm);
    return `No between-arm tests: ${present.length === 0 ? 'no arm has' : `only ${present.join(', ')} has`} finished runs in this store (need two arms).`;
  }
  const warn = notInterpretableHeading(p);
  const out: string[] = warn ? [
    `**${warn}.** The tests below are computed as for the protocol but compare this different, smaller setup; ` +
    'their p-values say nothing about the schedules under the protocol and are shown only to demonstrate the pipeline.',
    '',
  ] : [];
  out.push(
    '- **Welch t-test** (unequal variances, Welch–Satterthwaite df, two-sided) of H0: equal means; the mean difference A − B with its Welch 95% CI. ' +
    'Assumes independent runs and approximately normal sample means (with few runs, roughly normal data).',
    '- **Hedges\' g**: the difference in units of the pooled SD (assumes similar variances), small-sample corrected (J = 1 − 3/(4(nA + nB) − 9)); 95% CI from the normal approximation of Hedges & Olkin (1985).',
    '- **Mann–Whitney U** (two-sided, normal approximation with tie and continuity corrections, as SciPy\'s asymptotic method): a rank test of H0: P(A < B) = P(A > B), without the normality assumption; U is that of arm A. With few runs the approximation is rough and p cannot become small.',
    `- **Censoring**: epochs and seconds to target are compared among runs that reached ${pctTarget(p.target)} only (naive). Leaving censored runs out drops exactly the slowest runs, ` +
    'so an arm that often fails to reach the target looks faster than it is and its spread is understated; the difference is biased (towards the arm with more censoring) and the p-value is not valid. ' +
    'The Kaplan–Meier medians and the log-rank test above use the censored runs and are the primary time-to-target comparison.',
    '- No correction for multiple testing: p-values are per test.',
    '',
  );
  const rows = p.comparisons.map((c) => {
    const notes: string[] = [];
    if (c.censoredExcludedA + c.censoredExcludedB > 0) notes.push(`${c.censoredExcludedA} + ${c.censoredExcludedB} censored runs excluded (naive)`);
    if (c.welchNote) notes.push(`Welch: ${c.welchNote}`);
    if (c.hedgesNote && c.hedgesNote !== c.welchNote) notes.push(`Hedges: ${c.hedgesNote}`);
    if (c.mannWhitneyNote && c.mannWhitneyNote !== c.welchNote) notes.push(`Mann–Whitney: ${c.mannWhitneyNote}`);
    const h = c.hedges;
    const m = c.mannWhitney;
    const w = welchCells(c);
    return [
      c.measure, `${c.armA} − ${c.armB}`, String(c.nA), String(c.nB),
      w.means, w.difference, w.ci, w.t, w.df, w.p,
      h ? `${fmt(h.g, 2)} ${ci(h.ci[0], h.ci[1], (x) => fmt(x, 2))}` : DASH,
      m ? fmt(m.u, 1) : DASH, m ? fmtP(m.p) : DASH,
      notes.join('; '),
    ];
  });
  out.push(table(['measure', 'arms (A − B)', 'nA', 'nB', 'means', 'mean difference', 'Welch 95% CI', 'Welch t', 'df', 'Welch p', "Hedges' g [95% CI]", 'Mann–Whitney U', 'MW p', 'note'], rows));
  out.push('', 'Test error differences are in percentage points (pp).');
  return out.join('\n');
}

/**
 * Power of the Welch tests: from the arms' sample SDs, the smallest difference the present runs
 * detect with 80% power and the runs per arm the observed (and the original study's) difference needs.
 */
export function powerMarkdown(p: ProtocolAnalysis): string {
  if (p.comparisons.length === 0) return 'No power analysis: fewer than two arms with finished runs.';
  const rows = p.comparisons.map((c) => {
    const w = powerCells(c);
    return [c.measure, `${c.armA} − ${c.armB}`, w.sds, w.detectable, w.forObserved, w.forReference, c.powerNote ?? ''];
  });
  return [
    'Power of the two-sided Welch t-test at alpha 0.05 (noncentral t, Welch–Satterthwaite df for equal runs per arm; R `power.t.test(strict = TRUE)` when the SDs are equal), ' +
    'taking the arms\' sample SDs as the true ones: the smallest difference that the present runs per arm detect with 80% power, and the runs (seeds) per arm that the observed difference ' +
    'and the original study\'s difference need for 80% power. With few runs the SDs, and so these figures, are rough. Time measures use the runs that reached the target only.',
    '',
    table(['measure', 'arms (A − B)', 'SD A / SD B', 'detectable with 80% power', 'runs per arm for the observed difference', "runs per arm for the original study's difference", 'note'], rows),
  ].join('\n');
}

/**
 * One-sample t-test of each arm's final test error against the ResNet paper's 8.75%. When the runs
 * deviate from the protocol's setup (e.g. 2 epochs on a subset) the test is suppressed: it would
 * compare them with a 182-epoch figure; the arm means with their 95% CIs are shown for description.
 */
export function paperComparisonMarkdown(p: ProtocolAnalysis): string {
  const warn = notInterpretableHeading(p);
  if (warn) {
    const rows = p.arms.map((a) => [
      a.arm, a.testError ? String(a.testError.n) : '0', a.testError ? fmtPct(a.testError.mean) : DASH,
      a.testError?.ci ? ci(a.testError.ci[0], a.testError.ci[1], (x) => fmtPct(x)) : a.testError ? 'n = 1' : DASH,
    ]);
    return [
      `**${warn}.** No one-sample test against ${fmtPct(PAPER_TEST_ERROR)}: that is the ResNet paper's error after the full 182-epoch schedule on CIFAR-10, ` +
      'and comparing these runs with it would test the difference in setup, not the schedules. The arms\' mean final test errors, for description only:',
      '',
      table(['arm', 'n', 'mean test error', '95% CI (Student t)'], rows),
    ].join('\n');
  }
  const out: string[] = [
    `One-sample Student t-test of H0: mean final test error = ${fmtPct(PAPER_TEST_ERROR)} (He et al. 2016, Table 6, ResNet-20), two-sided, df = n − 1; ` +
    'the 95% CI is that of the arm\'s mean error. Assumes independent, roughly normal test errors, and treats 8.75% as a fixed number although it is itself one measurement.' +
    (p.stopAtTarget ? ` Runs of ${p.protocol} stop when they reach ${pctTarget(p.target)}, so their test error is measured at that point and is not comparable with a 182-epoch error.` : ''),
    '',
  ];
  const rows = p.arms.map((a) => {
    const t = a.testErrorVsPaper;
    if (!t) return [a.arm, a.testError ? String(a.testError.n) : '0', a.testError ? fmtPct(a.testError.mean) : DASH, DASH, DASH, DASH, DASH, a.testErrorNote ?? ''];
    return [a.arm, String(t.n), fmtPct(t.mean), ci(t.ci[0], t.ci[1], (x) => fmtPct(x)), `${fmt(100 * (t.mean - t.mu), 3)} pp`, fmt(t.t, 2), fmtP(t.p), t.note ?? ''];
  });
  out.push(table(['arm', 'n', 'mean test error', '95% CI', `difference from ${fmtPct(PAPER_TEST_ERROR)}`, 't', 'p', 'note'], rows));
  return out.join('\n');
}

function setupMarkdown(p: ProtocolAnalysis): string {
  const s = p.setup;
  const parts = [
    `${p.runs} run${p.runs === 1 ? '' : 's'} in the store`,
    `data ${s.dataset}${s.trainFraction !== null && s.trainFraction !== 1 ? ` (train fraction ${s.trainFraction})` : ''}`,
    s.validationCount !== null ? `${s.validationCount} validation images` : null,
    s.testCount === null ? 'full test set' : s.testCount !== undefined ? `${s.testCount} test images` : null,
    s.batchSize !== null ? `batch ${s.batchSize}` : null,
    s.maxEpochs !== null ? `at most ${s.maxEpochs} epochs` : null,
    p.target !== null ? `target ${pctTarget(p.target)} validation accuracy${p.stopAtTarget ? ' (runs stop there)' : ' (recorded, runs go on)'}` : 'no target',
  ].filter(Boolean);
  const lines = [`${p.spec ? `${p.spec.description}. ` : ''}${parts.join('; ')}.`];
  const arms = p.arms.filter((a) => a.description).map((a) => `- \`${a.arm}\`: ${a.description}`);
  if (arms.length) lines.push('', ...arms);
  if (p.spec?.notes.length) lines.push('', ...p.spec.notes.map((n) => `Note: ${n}.`));
  if (p.deviations.length) {
    lines.push('', `**These runs differ from the ${p.protocol} protocol**: ${p.deviations.join('; ')}. Their numbers describe this smaller setup and are not comparable with the original study's.`);
  }
  if (p.notes.length) lines.push('', ...p.notes.map((n) => `- ${n[0].toUpperCase()}${n.slice(1)}.`));
  return lines.join('\n');
}

function chartsMarkdown(figures: ReportFigure[], files: Record<string, ExportResult>, rel: (f: string) => string): string {
  const out: string[] = [];
  for (const f of figures) {
    const written = files[f.name];
    if (!written) continue;
    const links = (['png', 'svg', 'html'] as const).filter((k) => written[k]).map((k) => `[${k.toUpperCase()}](${encodeURI(rel(written[k]!))})`);
    out.push(`**${f.caption}.** ${links.join(' · ')}`, '');
    if (written.png) out.push(`![${f.caption}](${encodeURI(rel(written.png))})`, '');
    else if (written.svg) out.push(`![${f.caption}](${encodeURI(rel(written.svg))})`, '');
  }
  return out.join('\n').trimEnd();
}

export interface ReportMarkdownOptions {
  /** Results store the runs came from (shown in the header). */
  resultsPath: string;
  /** Notes from loadResults (pooling). */
  notes?: string[];
  /** Figures and the files they were exported to (by figure name), paths relative to `reportDir` in the links. */
  figures?: ReportFigure[];
  files?: Record<string, ExportResult>;
  /** Folder of the report, for relative links. */
  reportDir?: string;
  /** Sentence shown instead of the charts (e.g. Chromium missing), or null. */
  chartsNote?: string | null;
  /** Timestamp in the header (default now). */
  generatedAt?: Date;
  /** Protocol filter used, if any. */
  protocol?: string;
}

/**
 * The whole report as markdown.
 * @param analyses from analyzeResults
 */
export function reportMarkdown(analyses: ProtocolAnalysis[], opts: ReportMarkdownOptions): string {
  const reportDir = opts.reportDir ?? process.cwd();
  const rel = (f: string) => path.relative(reportDir, f).split(path.sep).join('/');
  const total = analyses.reduce((s, p) => s + p.runs, 0);
  const out: string[] = [
    '# SGDR vs the ResNet step schedule: ResNet-20 on CIFAR-10',
    '',
    `Reproduction of *${ORIGINAL_STUDY.title}*: SGDR (cosine annealing with warm restarts, fastai warm-up) against the ResNet paper's step schedule ` +
    '(0.1, divided by 10 at 32k and 48k iterations). Race-to-85 measures epochs and seconds to 85% validation accuracy (runs that never reach it are censored); ' +
    'full-182 measures the final test error after 182 epochs with SGDR cycles of 7 and 14 epochs against the paper\'s 8.75%.',
    '',
    `Generated ${(opts.generatedAt ?? new Date()).toISOString()} from \`${opts.resultsPath}\`${opts.protocol ? ` (protocol ${opts.protocol})` : ''}: ` +
    `${total} run${total === 1 ? '' : 's'} in ${analyses.length} protocol${analyses.length === 1 ? '' : 's'} (${analyses.map((p) => `${p.protocol}: ${p.runs}`).join(', ') || 'none'}).`,
  ];
  if (opts.notes?.length) out.push('', ...opts.notes.map((n) => `- Note: ${n}.`));
  if (analyses.length === 0) {
    out.push('', `The results store has no runs${opts.protocol ? ` of protocol ${opts.protocol}` : ''}: there is nothing to analyse. Train with \`npm run experiment -- --protocol race-to-85\` (or \`npm start\` for the quick protocol) first.`);
  }
  out.push('', '## The original study and this reproduction', '', originalStudyMarkdown(analyses));
  for (const p of analyses) {
    out.push('', `## Protocol ${p.protocol}`, '', setupMarkdown(p));
    out.push('', '### Runs per arm', '', armTableMarkdown(p));
    if (p.target !== null) out.push('', `### Time to ${pctTarget(p.target)}: Kaplan–Meier and log-rank`, '', survivalMarkdown(p));
    const warn = notInterpretableHeading(p);
    out.push('', `### Between-arm tests${warn ? ' (not interpretable: these runs deviate from the protocol)' : ''}`, '', comparisonsMarkdown(p));
    out.push('', '### Power', '', powerMarkdown(p));
    out.push('', `### Final test error vs the ResNet paper's ${fmtPct(PAPER_TEST_ERROR)}${warn ? ' (not tested: these runs deviate from the protocol)' : ''}`, '', paperComparisonMarkdown(p));
    const figs = (opts.figures ?? []).filter((f) => f.protocol === p.protocol);
    if (figs.length && opts.files) {
      out.push('', '### Charts', '', chartsMarkdown(figs, opts.files, rel));
    }
  }
  if (opts.chartsNote) out.push('', '## Charts', '', opts.chartsNote);
  out.push('');
  return out.join('\n');
}
