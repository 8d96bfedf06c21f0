/**
 * The report's side-by-side table of the original study's figures and this reproduction's (n and
 * 95% CIs on both sides), rendered from the analysis model.
 */
import { ORIGINAL_STUDY, PAPER_TEST_ERROR, trainingProgress, type ArmAnalysis, type ProtocolAnalysis } from '../model';
import { ci, DASH, fmt, fmtPct, markdownTable as table, pctTarget } from '../format';

function findArm(ps: ProtocolAnalysis[], protocol: string, pick: (a: ArmAnalysis) => boolean): { p: ProtocolAnalysis; a: ArmAnalysis } | null {
  const p = ps.find((x) => x.protocol === protocol);
  const a = p?.arms.find(pick);
  return p && a ? { p, a } : null;
}

/**
 * Why an arm has no figure in the table: no runs at all, runs still training (each seed's epoch), or
 * finished runs without the value (`lacking`).
 */
function noFigure(f: { p: ProtocolAnalysis; a: ArmAnalysis } | null, protocol: string, arm: string, lacking: string): string {
  if (!f || f.a.n + f.a.failed + f.a.running === 0) return `no ${protocol} runs of arm ${arm} in this store`;
  if (f.a.n > 0) return lacking;
  const training = f.a.inTraining.map(trainingProgress);
  const budget = f.p.setup.maxEpochs === null ? '' : ` for ${f.p.setup.maxEpochs} epochs`;
  return `no finished ${protocol} run of arm ${arm} yet` + (training.length ? ` (in training${budget}: ${training.join(', ')})` : '');
}

/** Side-by-side table of the original study's figures and ours (n and CIs on both sides). */
export function originalStudyMarkdown(ps: ProtocolAnalysis[]): string {
  const originalN = ORIGINAL_STUDY.n === null ? 'not reported' : String(ORIGINAL_STUDY.n);
  const rows: string[][] = [];
  const kmRow = (label: string, orig: number, protocol: string, arm: string, target: number) => {
    const f = findArm(ps, protocol, (a) => a.arm === arm);
    let ours: string[];
    if (!f || f.a.n === 0) ours = [f && f.a.failed + f.a.running > 0 ? '0' : DASH, noFigure(f, protocol, arm, ''), DASH];
    else if (f.p.target !== target) ours = [DASH, `${protocol} runs here have target ${pctTarget(f.p.target)}, not ${pctTarget(target)}`, DASH];
    else if (!f.a.kmEpochs) ours = ['0', `no finished runs of ${arm}`, DASH];
    else {
      const k = f.a.kmEpochs;
      ours = [String(k.n), k.median === null ? `not reached (${k.events} of ${k.n} reached it)` : `${fmt(k.median, 1)} (Kaplan–Meier)` +
        (f.a.epochs ? `; naive median of the ${f.a.epochs.n} that reached it: ${fmt(f.a.epochs.median, 1)}` : ''), ci(k.lower, k.upper, (v) => fmt(v, 1))];
    }
    rows.push([label, `${orig}`, originalN, 'not reported', ...ours]);
  };
  kmRow('median epochs to 85% validation accuracy, constant 0.1 / step schedule', ORIGINAL_STUDY.medianEpochsTo85.step, 'race-to-85', 'step', 0.85);
  kmRow('median epochs to 85% validation accuracy, SGDR (cycle 1 epoch)', ORIGINAL_STUDY.medianEpochsTo85.cosine, 'race-to-85', 'cosine', 0.85);
  const accRow = (label: string, orig: string, arm: string) => {
    const f = findArm(ps, 'full-182', (a) => a.arm === arm);
    let ours: string[];
    if (!f || !f.a.testError) ours = [DASH, noFigure(f, 'full-182', arm, `no ${arm} run with a final test accuracy`), DASH];
    else {
      const t = f.a.testError;
      ours = [String(t.n), `${fmtPct(1 - t.mean)} (error ${fmtPct(t.mean)})`, t.ci ? `${ci(1 - t.ci[1], 1 - t.ci[0], (v) => fmtPct(v))} (error ${ci(t.ci[0], t.ci[1], (v) => fmtPct(v))})` : 'n = 1: no CI'];
    }
    rows.push([label, orig, originalN, 'not reported', ...ours]);
  };
  accRow('mean test accuracy after 182 epochs, SGDR cycle 7 epochs', `${fmtPct(ORIGINAL_STUDY.meanTestAccuracy[7])} (error ${fmtPct(1 - ORIGINAL_STUDY.meanTestAccuracy[7])})`, 'cosine-7');
  accRow('mean test accuracy after 182 epochs, SGDR cycle 14 epochs', `${fmtPct(ORIGINAL_STUDY.meanTestAccuracy[14])} (error ${fmtPct(1 - ORIGINAL_STUDY.meanTestAccuracy[14])})`, 'cosine-14');
  {
    const f = findArm(ps, 'full-182', (a) => a.arm === 'step');
    const t = f?.a.testError;
    rows.push(['test error of ResNet-20, step schedule (ResNet paper, He et al. 2016)', fmtPct(PAPER_TEST_ERROR), 'not reported', 'not reported',
      ...(t ? [String(t.n), fmtPct(t.mean), t.ci ? ci(t.ci[0], t.ci[1], (v) => fmtPct(v)) : 'n = 1: no CI'] : [DASH, noFigure(f, 'full-182', 'step', 'no step run with a final test accuracy'), DASH])]);
  }
  const out = [table(['quantity', 'original', 'original n', 'original 95% CI', 'ours: n', 'ours: estimate', 'ours: 95% CI'], rows)];
  for (const name of ['race-to-85', 'full-182']) {
    const p = ps.find((x) => x.protocol === name);
    if (p?.deviations.length) out.push('', `Caution: the ${name} runs in this store deviate from the protocol (${p.deviations.join('; ')}), so their rows above are not a like-for-like comparison.`);
  }
  out.push('', `The original study (${ORIGINAL_STUDY.title}) reported these medians and means without run counts or confidence intervals that this workspace has; ` +
    'ours are Kaplan–Meier medians with their 95% CI (censored runs included) and means with Student-t 95% CIs.');
  const quick = ps.find((x) => x.protocol === 'quick');
  if (quick) {
    const parts = quick.arms.filter((a) => a.kmEpochs).map((a) => `${a.arm}: ${a.kmEpochs!.median === null ? 'not reached' : fmt(a.kmEpochs!.median, 1)} ${ci(a.kmEpochs!.lower, a.kmEpochs!.upper, (v) => fmt(v, 1))} (n = ${a.kmEpochs!.n})`);
    if (parts.length) {
      out.push('', `For orientation only, not comparable with the 85% figures: the quick protocol (embedded ${quick.setup.dataset}, ` +
        `${quick.setup.trainFraction !== null ? `train fraction ${quick.setup.trainFraction}, ` : ''}target ${pctTarget(quick.target)}, at most ${quick.setup.maxEpochs ?? '?'} epochs) ` +
        `has Kaplan–Meier median epochs to target ${parts.join('; ')}.`);
    }
  }
  return out.join('\n');
}

