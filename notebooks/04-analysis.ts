// ---
// jupyter:
//   jupytext:
//     formats: ipynb,ts:percent
//     text_representation:
//       extension: .ts
//       format_name: percent
//       format_version: '1.3'
//       jupytext_version: 1.16.4
//   kernelspec:
//     display_name: TypeScript
//     language: typescript
//     name: tslab
// ---

// %% [markdown]
// # 04 · Analysis: SGDR vs the ResNet step schedule
//
// Reproduces the write-up from saved runs only (no training): the runs as **danfo** DataFrames, per-arm tables, every test with its assumptions, the Kaplan–Meier / log-rank analysis of time to target, the comparison with the original study, every chart inline, and the export of the charts and a report.
//
// **Output folder.** The report and its charts go to the parameter `report_dir`, by default the notebook's own folder `reports/notebook-04/` (`report.md` plus the PNG/SVG charts), never to `reports/report.md`: running the notebook (also via `npm run notebooks`, with or without `--output-dir`) does not overwrite the report written by `npm run report`. The headless notebook test sets `report_dir` to a temporary folder.
//
// **Data.** The parameter `results` if set; else the **study** shipped with the workspace, `studies/resnet20-cifar10.sqlite`: the finished `race-to-85` and `full-182` runs trained on the full CIFAR-10 by the workspace itself (`scripts/study/train.sh`, checked by `npm run verify-study`; the study is still training, so it holds fewer runs than the protocols' 40 and 30, and the next cell says how many). Your own runs: `results = 'data/results.sqlite'` (written by `npm start`, `npm run experiment` and notebooks 02/03). The committed **example store** `data/example-results.sqlite` is a small real store trained on this project's 2-core machine, used by the headless tests:
//
// * `node dist/cli.js start --results data/example-results.sqlite`: the `quick` protocol, the race arms (step, SGDR cycle 1) on the embedded 5,000-image CIFAR-10 subset, half of its training images, 2 seeds per arm, at most 6 epochs, target 30% validation accuracy instead of 85%;
// * `node dist/cli.js experiment --protocol full-182 --data data/cifar-10-subset --seeds 2 --max-epochs 2 --fraction 0.5 --results data/example-results.sqlite`: the three `full-182` arms for only 2 epochs on the same subset, so no run reaches 85% (every time-to-target statistic is censored) and the test errors are far from 8.75%.
//
// With so few, so short runs on a subset, its numbers demonstrate the pipeline (and how the report handles censoring and n = 2); they are not evidence about the schedules. The report flags protocols whose runs deviate from the protocol's definition: their figures carry the caveat in the subtitle (e.g. *runs of at most 2 epochs (not 182) on cifar-10-subset, train fraction 0.5 — not the full-182 protocol*), their between-arm and log-rank tests are shown under a *Not interpretable* line, and their one-sample test against the paper's 8.75% is not run.
//
// Run `npm run build` first (the notebook imports `../dist`).

// %% [markdown]
// ## Parameters
//
// The next cell (tagged `parameters`) holds every knob; headless, `npm run notebooks -- 04 -p NAME VALUE` injects values after it. The outputs saved with this notebook are the shipped study's (`npm run notebooks -- 04 -p results studies/resnet20-cifar10.sqlite`, which `scripts/study/ship.sh` runs each time it ships the study: the raw cell after the parameters records it). A headless run without `-p` analyses the committed example store (`headless:`), as the tests do; `npm run notebooks -- 04 -p results data/results.sqlite` analyses your runs.
//
// * `results`: the results store, a file relative to the project root or a `postgres://` URL; `null`: the shipped study `studies/resnet20-cifar10.sqlite` (the example store if the study file is missing).
// * `protocol`: one protocol of the store (`null`: all); `allow_mixed_configs`: pool runs of an arm whose configurations differ beyond the seed.
// * `report_dir`: where the report and its charts go, relative to the project root.

// %% tags=["parameters"]
// Parameters (papermill convention). `// headless:` marks the value of a headless run without -p.
let results: string | null = null;             // headless: 'data/example-results.sqlite'. File (relative to the project root) or postgres:// URL; null: the shipped study studies/resnet20-cifar10.sqlite
let protocol: string | null = null;            // e.g. 'race-to-85'; null: every protocol in the store
let allow_mixed_configs: boolean = false;      // pool runs of an arm whose configurations differ beyond the seed
let report_dir: string = 'reports/notebook-04'; // report and charts, relative to the project root (npm run report writes reports/report.md)

// %% [raw] tags=["injected-parameters"]
// // Injected by `npm run notebooks` (scripts/jupyter/run_notebooks.py): parameters of this run
// results = 'studies/resnet20-cifar10.sqlite'; // -p
// console.log('injected parameters: results = \'studies/resnet20-cifar10.sqlite\' (-p)');

// %%
import * as fs from 'fs';
import * as path from 'path';
import * as ws from '../dist/index';

const EXAMPLE_STORE = path.join(ws.PROJECT_ROOT, 'data', 'example-results.sqlite');
const isUrl = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);
const RESULTS = results === null ? (fs.existsSync(ws.STUDY_RESULTS_PATH) ? ws.STUDY_RESULTS_PATH : EXAMPLE_STORE) : isUrl(results) ? results : path.resolve(ws.PROJECT_ROOT, results);
if (!isUrl(RESULTS) && !fs.existsSync(RESULTS)) throw new Error(`results: ${results} does not exist`);
const PROTOCOL: string | undefined = protocol === null ? undefined : protocol;
const ALLOW_MIXED_CONFIGS = allow_mixed_configs;
const REPORT_DIR = path.resolve(ws.PROJECT_ROOT, report_dir);
// Paths as printed: relative to the project root, no password of a URL
const rel = (f: string) => (f.startsWith(ws.PROJECT_ROOT + path.sep) ? path.relative(ws.PROJECT_ROOT, f) : f.replace(/(\/\/[^:@\/\s]*):[^@\/\s]*@/g, '$1:***@'));
console.log(`parameters: ${JSON.stringify({ results: results, protocol: protocol, allow_mixed_configs: allow_mixed_configs, report_dir: report_dir })}`);
console.log(`results store: ${rel(RESULTS)}${RESULTS === EXAMPLE_STORE ? ' (the committed example store)' : ''}`);
console.log(`report folder: ${rel(REPORT_DIR)}`);
ws.initNotebookPlotlyCompressed(); // plotly.js once per notebook, offline (gzip, ~2.7 MB)

// %% [markdown]
// ## Loading
//
// `loadReportResults` opens the store read-only. Runs of one arm are pooled only when their configurations differ in nothing but the seed (same configuration hash); otherwise it stops with an error naming the arm (set `ALLOW_MIXED_CONFIGS` to pool anyway).

// %%
const { runs, epochs, notes } = await ws.loadReportResults(RESULTS, PROTOCOL, ALLOW_MIXED_CONFIGS);
notes.forEach((n) => console.log(`note: ${n}`));
console.log(`${runs.length} runs, ${epochs.length} epoch records`);
const byArm = new Map<string, string[]>();
for (const r of runs) byArm.set(`${r.protocol} / ${r.arm}`, [...(byArm.get(`${r.protocol} / ${r.arm}`) ?? []), `seed ${r.seed}: ${r.status}`]);
for (const [k, v] of byArm) console.log(`${k}: ${v.join(', ')}`);
// how much of each protocol the store holds: finished runs against the protocol's arms x seeds (race-to-85: 40, full-182: 30)
for (const p of ws.analyzeResults(runs, epochs)) {
  if (!p.spec) continue;
  const finished = p.arms.reduce((sum, a) => sum + a.n, 0);
  console.log(`${p.protocol}: ${finished} finished runs of the protocol's ${p.spec.arms.length * p.spec.seeds} (${p.arms.map((a) => `${a.arm} ${a.n}/${p.spec!.seeds}`).join(', ')})`);
}

// %% [markdown]
// ## The runs as danfo DataFrames
//
// One row per run (`ws.runsFrame`; missing values are NaN, shown as –) and one per epoch (`ws.epochsFrame`). The frames hold accuracies and errors as fractions (0.0908); their tables show them in percent (9.08%), as the report does (`ws.frameHtml`).

// %%
const runsDf = ws.runsFrame(runs);
ws.showFrame(runsDf.loc({ columns: ['protocol', 'arm', 'seed', 'status', 'reached', 'epochsToTarget', 'secondsToTarget', 'epochsCompleted', 'finalTestError', 'bestValidationAccuracy'] }), { caption: 'runs' });

// %%
const epochsDf = ws.epochsFrame(epochs, runs);
console.log(`epochs frame: ${epochsDf.shape[0]} rows x ${epochsDf.shape[1]} columns`);
ws.showFrame(epochsDf.loc({ columns: ['arm', 'seed', 'epoch', 'iteration', 'learningRate', 'trainLoss', 'validationAccuracy', 'testAccuracy', 'trainSeconds'] }), { maxRows: 12, caption: 'epochs (first rows)' });

// %% [markdown]
// Per arm with danfo's `groupby`: number of runs, runs that reached the target, mean final test error; then epochs and seconds to target over the runs that reached it (danfo reports the std of a single value as 0; the report's sd is undefined for n = 1).

// %%
const grouped = runsDf.groupby(['protocol', 'arm']).agg({ seed: 'count', reached: 'sum', finalTestError: 'mean' });
ws.showFrame(grouped, { caption: 'per arm: runs, reached, mean final test error' });
const reachedDf = runsDf.query(runsDf['reached'].eq(1));
if (reachedDf.shape[0] > 0) {
  ws.showFrame(reachedDf.groupby(['protocol', 'arm']).agg({ epochsToTarget: ['mean', 'median', 'std'], secondsToTarget: 'mean' }), { caption: 'runs that reached the target: epochs and seconds' });
} else {
  console.log('no run reached its target: no time-to-target table');
}

// %% [markdown]
// ## Per-arm summary
//
// `ws.analyzeResults` computes everything below (per protocol); `ws.armTableMarkdown` renders the table the report shows: n (finished runs), reached, censored, mean / median / sd of epochs and seconds to target among the runs that reached it, and the final test error with its Student-t 95% CI.
// Where a number cannot be computed (n < 2, all runs censored, an arm without runs), a sentence says why.

// %%
const analyses = ws.analyzeResults(runs, epochs);
ws.showFrame(ws.armFrame(analyses), { caption: 'ws.armFrame(analyses): the analysis model per arm as a DataFrame' });
ws.showFrame(ws.comparisonFrame(analyses), { caption: 'ws.comparisonFrame(analyses): every comparison (A − B) as a DataFrame' });
for (const p of analyses) ws.showMarkdown(`### ${p.protocol}\n\n${ws.armTableMarkdown(p)}`);

// %% [markdown]
// ## Between-arm tests
//
// For each pair of arms (A − B, the step schedule as B) and each measure — epochs to target, seconds to target, final test error:
//
// * **Welch's t-test** (unequal variances, Welch–Satterthwaite df, two-sided): H0 equal means; with the mean difference and its Welch 95% CI. Assumes independent runs and approximately normal sample means.
// * **Hedges' g** with a 95% CI: the standardized difference (pooled SD, small-sample corrected).
// * **Mann–Whitney U** (asymptotic, tie and continuity corrected): rank-based, no normality assumption.
//
// **Censoring.** The time-to-target tests here are *naive*: they use only runs that reached the target. Runs that never reached it are exactly the slowest ones, so dropping them makes an arm with censored runs look faster and less variable than it is; the difference is biased and the p-value invalid. The Kaplan–Meier / log-rank section below uses the censored runs.

// %%
for (const p of analyses) ws.showMarkdown(`### ${p.protocol}\n\n${ws.comparisonsMarkdown(p)}`);
for (const p of analyses) {
  for (const c of p.comparisons) {
    console.log(`${p.protocol} ${c.measure} ${c.armA} - ${c.armB}: ` + (c.welch
      ? `Welch t = ${c.welch.t.toFixed(3)}, df = ${c.welch.df.toFixed(2)}, p = ${ws.fmtP(c.welch.p)}, mean difference ${c.welch.meanDifference.toPrecision(4)} [${c.welch.ci.map((x) => x.toPrecision(4)).join(', ')}]`
      : `Welch ${c.welchNote}`));
  }
}

// %% [markdown]
// The same Welch test computed directly with the statistics module (`ws.welchTTest`, validated against SciPy's `ttest_ind(equal_var=False)`), on the final test errors of the first pair of arms that has at least two runs each:

// %%
const found = analyses.map((p) => ({ p, c: p.comparisons.find((c) => c.measure === 'final test error' && c.welch) })).find((x) => x.c);
if (found) {
  const { p, c } = found;
  const errs = (arm: string) => runs.filter((r) => r.protocol === p.protocol && r.arm === arm && ws.isFinished(r) && r.status !== 'diverged' && r.finalTestAccuracy !== null).map((r) => 1 - r.finalTestAccuracy!);
  const a = errs(c!.armA);
  const b = errs(c!.armB);
  const direct = ws.welchTTest(a, b);
  console.log(`${p.protocol} ${c!.armA}: ${a.map((x) => (100 * x).toFixed(2) + '%').join(', ')}`);
  console.log(`${p.protocol} ${c!.armB}: ${b.map((x) => (100 * x).toFixed(2) + '%').join(', ')}`);
  console.log(`Welch t = ${direct.t.toFixed(4)}, df = ${direct.df.toFixed(3)}, p = ${direct.p.toPrecision(4)} (table: p = ${c!.welch!.p.toPrecision(4)})`);
  const mw = ws.mannWhitneyU(a, b);
  console.log(`Mann-Whitney U = ${mw.u}, p = ${mw.p.toPrecision(4)}`);
} else {
  console.log('no pair of arms with at least two final test errors each: no Welch test to show');
}

// %% [markdown]
// ## Time to target with censoring: Kaplan–Meier and log-rank
//
// Runs that never reached the target are right-censored at the epoch (or training second) they stopped. The **Kaplan–Meier** estimate of the fraction of runs not yet at the target gives a median time to target with a 95% CI (log-transformed Greenwood band, R `survfit`'s default; validated against R survival); the **log-rank test** (R `survdiff`) compares the arms' whole time-to-target distributions. Assumption: censoring is non-informative (it happens at the fixed epoch budget).

// %%
for (const p of analyses) ws.showMarkdown(`### ${p.protocol}\n\n${ws.survivalMarkdown(p)}`);
for (const p of analyses) for (const a of p.arms) if (a.kmEpochs) console.log(`${p.protocol} ${a.arm}: Kaplan-Meier median epochs ${a.kmEpochs.median ?? 'not reached'} (95% CI ${a.kmEpochs.lower ?? 'NA'} to ${a.kmEpochs.upper ?? 'not reached'}), ${a.kmEpochs.events}/${a.kmEpochs.n} reached`);

// %% [markdown]
// ## Final test error against the ResNet paper's 8.75%
//
// One-sample t-test of each arm's mean final test error against 8.75% (He et al. 2016), with the 95% CI of the mean. In protocols that stop at the target (race-to-85, quick) the error is measured at the stop and is not comparable with 8.75%. For runs that deviate from their protocol's setup (e.g. the example store's 2-epoch full-182 runs on the subset) the test is not run: it would compare them with a 182-epoch figure; their mean errors with 95% CIs are shown for description only.

// %%
for (const p of analyses) ws.showMarkdown(`### ${p.protocol}\n\n${ws.paperComparisonMarkdown(p)}`);

// %% [markdown]
// ## The original study and this reproduction
//
// The original study's figures (median epochs to 85%: 30.5 constant/step vs 21 SGDR; mean test accuracy 90.98% cycle 7 / 91.10% cycle 14; the paper's 8.75%) next to ours, with n and 95% CIs. The original write-up gives no run counts or CIs.

// %%
ws.showMarkdown(ws.originalStudyMarkdown(analyses));

// %% [markdown]
// ## Charts
//
// `ws.reportFigures` builds every figure of the report for what the store contains, per protocol: the arms' learning-rate schedules, validation accuracy per epoch, time to target (epochs, seconds), Kaplan–Meier curves (epochs, seconds) and final test error.
//
// Each chart output also carries a static PNG of itself, rendered by headless Chromium in the kernel (about 10 s for the first chart of a session, a fraction of a second for each later one): it is shown until plotly.js draws the interactive chart, and wherever scripts do not run (this notebook untrusted, GitHub, nbviewer). Time-to-target boxes are drawn only for arms with at least 5 runs that reached the target; with fewer, the runs are points.

// %%
const figures = ws.reportFigures(runs, epochs);
const show = (kind: string) => {
  const fs_ = figures.filter((f) => f.name.endsWith(kind));
  if (fs_.length === 0) console.log(`no ${kind} figure for this store`);
  for (const f of fs_) {
    ws.showMarkdown(`**${f.name}**: ${f.caption}.`);
    ws.showFigure(f.figure, { height: 480 });
  }
};
console.log(figures.map((f) => f.name).join('\n'));

// %% [markdown]
// ### Learning-rate schedules of the arms

// %%
show('-schedules');

// %% [markdown]
// ### Validation accuracy per epoch
//
// The per-arm median and interquartile band count a run that stopped (reached the target and stopped, or ended its budget) at its last validation accuracy, carried forward to the arm's last epoch: otherwise, after the fast runs stop at the target, the median would be that of the slow runs alone. Runs still running and failed runs are not carried. The subtitle says so when it happens; the hover text gives n and how many values are carried.

// %%
show('-validation');

// %% [markdown]
// ### Time to target (censored runs are open triangles, lower bounds)
//
// The boxes are over the runs that reached the target only (as the naive table above); censored runs are drawn as open triangles at their censoring time, a lower bound, and the subtitle counts them. An arm whose runs are all censored has no box, and when no run reached the target the title says so.

// %%
show('-time-to-target-epochs');

// %%
show('-time-to-target-seconds');

// %% [markdown]
// ### Kaplan–Meier curves
//
// Each arm's curve ends at that arm's last observation (its last event or censoring time): the estimate says nothing beyond it.

// %%
show('-kaplan-meier-epochs');

// %%
show('-kaplan-meier-seconds');

// %% [markdown]
// ### Final test error

// %%
show('-test-error');

// %% [markdown]
// ## Export: charts and the report
//
// `ws.writeReport` writes the report to `report_dir/report.md` (default `reports/notebook-04/report.md`, see the top; `npm run report` writes `reports/report.md`, which this notebook leaves alone) (atomically) with every table and test above and exports the charts as PNG and SVG next to it (headless Chromium; `CHROMIUM_PATH` if it is not on `PATH`; without Chromium the report says so). `ws.exportChartsForResults` exports the charts alone (also as standalone HTML with `formats: ['html']`); from a shell: `npm run report` and `npm run export-charts`.

// %%
const report = await ws.writeReport({ results: RESULTS, out: path.join(REPORT_DIR, 'report.md'), protocol: PROTOCOL, allowMixedConfigs: ALLOW_MIXED_CONFIGS });
for (const [name, files] of Object.entries(report.files)) console.log(`${name}: ${Object.values(files).map((f) => rel(f!)).join('  ')}`);
if (report.chartsNote) console.log(report.chartsNote);
console.log(`wrote ${rel(report.file)} (${report.markdown.length} characters)`);

// %%
// The beginning of the report
// (paths relative to the project root, as everywhere in the notebook's outputs)
console.log(report.markdown.split(ws.PROJECT_ROOT + path.sep).join('').split('\n').slice(0, 24).join('\n'));
