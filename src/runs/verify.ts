/**
 * `verify-study`: checks that a results store holds what a study's runs must hold, from its rows
 * alone, so that nobody has to take the shipped results on trust. For every finished run of the
 * built-in full-data protocols (race-to-85, full-182):
 * - the data: the full CIFAR-10 (dataset cifar-10, 5,000 validation images by split seed 0, train
 *   fraction 1 = 45,000 training images, every test image), batch 128;
 * - the epochs: rows 1..n without a gap, iterations n x ceil(45,000 / 128) = 352 per epoch, the
 *   learning rate of each row equal to the schedule's value at the epoch's last iteration;
 * - the summary columns recomputed here from the epoch rows: epochs completed, epochs, iterations and
 *   seconds to the target (first epoch with validation accuracy >= target), final test accuracy, best
 *   validation accuracy (the first epoch of the maximum) and the test accuracy at it;
 * - the status: completed at the target or censored at the last epoch (race), all epochs (full-182);
 * - the record: configuration hash, engine and code version present; seeds distinct within an arm.
 */
import { buildSchedule, configHash, trainImagesUsed, type RunConfig } from '../train/config';
import { FINISHED_STATUSES, type EpochRecord } from '../train/records';
import { iterationsPerEpoch } from '../train/loop';
import type { StoredRun } from '../store/api';
import { openResultsStore } from '../store';

/** Protocols a study verifies: the full-data protocols of src/runs/protocols.ts. */
export const STUDY_PROTOCOLS = ['race-to-85', 'full-182'] as const;

export interface StudyVerification {
  /** Finished runs checked, per protocol and arm. */
  runs: { protocol: string; arm: string; finished: number }[];
  epochsChecked: number;
  /** One line per disagreement, naming the run and the field. */
  problems: string[];
}

const same = (a: number | null, b: number | null) => (a === null || b === null ? a === b : Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)));
const show = (x: unknown) => (x === null || x === undefined ? 'null' : String(x));

/** Checks one finished run against its epoch rows; returns the problems found. */
function verifyRun(r: StoredRun, epochs: EpochRecord[]): string[] {
  const out: string[] = [];
  const bad = (field: string, stored: unknown, expected: unknown) => out.push(`${r.runId}: ${field} is ${show(stored)}, expected ${show(expected)}`);
  const c = r.config as unknown as RunConfig;
  if (!c || !c.data || !c.schedule) return [`${r.runId}: config_json has no data or schedule`];
  if (c.data.dataset !== 'cifar-10') bad('config.data.dataset', c.data.dataset, 'cifar-10');
  if (c.data.validationCount !== 5000) bad('config.data.validationCount', c.data.validationCount, 5000);
  if (c.data.splitSeed !== 0) bad('config.data.splitSeed', c.data.splitSeed, 0);
  if (c.data.testCount !== null) bad('config.data.testCount', c.data.testCount, 'null (all 10,000)');
  const trainImages = trainImagesUsed(50000, c.data.validationCount, c.data.trainFraction);
  if (trainImages !== 45000) bad('training images', trainImages, 45000);
  if (c.batchSize !== 128) bad('config.batchSize', c.batchSize, 128);
  if (c.seed !== r.seed) bad('config.seed', c.seed, r.seed);
  if (configHash(c) !== r.configHash) bad('config_hash', r.configHash, configHash(c));
  if (!r.backend) bad('backend', r.backend, 'the engine that trained it');
  if (!r.codeVersion) bad('code_version', r.codeVersion, 'a git commit');

  const perEpoch = iterationsPerEpoch(45000, c.batchSize);
  const schedule = buildSchedule(c.schedule, perEpoch);
  epochs.forEach((e, i) => {
    if (e.epoch !== i + 1) bad(`epoch row ${i + 1}`, e.epoch, i + 1);
    if (e.iteration !== (i + 1) * perEpoch) bad(`epoch ${e.epoch} iteration`, e.iteration, (i + 1) * perEpoch);
    const lr = schedule(e.iteration - 1);
    if (!same(e.learningRate, lr)) bad(`epoch ${e.epoch} learning rate`, e.learningRate, lr);
  });

  // the summary, recomputed from the rows
  const last = epochs[epochs.length - 1];
  const hit = c.target === null ? undefined : epochs.find((e) => e.validationAccuracy >= c.target!);
  let best: EpochRecord | undefined;
  for (const e of epochs) if (!best || e.validationAccuracy > best.validationAccuracy) best = e;
  if (r.epochsCompleted !== epochs.length) bad('epochs_completed', r.epochsCompleted, epochs.length);
  if (!same(r.epochsToTarget, hit?.epoch ?? null)) bad('epochs_to_target', r.epochsToTarget, hit?.epoch ?? null);
  if (!same(r.iterationsToTarget, hit?.iteration ?? null)) bad('iterations_to_target', r.iterationsToTarget, hit?.iteration ?? null);
  if (!same(r.secondsToTarget, hit?.trainSeconds ?? null)) bad('seconds_to_target', r.secondsToTarget, hit?.trainSeconds ?? null);
  if (!same(r.finalTestAccuracy, last?.testAccuracy ?? null)) bad('final_test_accuracy', r.finalTestAccuracy, last?.testAccuracy ?? null);
  if (!same(r.bestValidationAccuracy, best?.validationAccuracy ?? null)) bad('best_validation_accuracy', r.bestValidationAccuracy, best?.validationAccuracy ?? null);
  if (!same(r.testAccuracyAtBestValidation, best?.testAccuracy ?? null)) bad('test_accuracy_at_best_validation', r.testAccuracyAtBestValidation, best?.testAccuracy ?? null);

  // the status and where the run stopped
  if (c.stopAtTarget) {
    if (hit && (r.status !== 'completed' || epochs.length !== hit.epoch)) bad('status / epochs', `${r.status} after ${epochs.length}`, `completed after ${hit.epoch} (the first epoch at the target)`);
    if (!hit && (r.status !== 'censored' || epochs.length !== c.maxEpochs)) bad('status / epochs', `${r.status} after ${epochs.length}`, `censored after ${c.maxEpochs}`);
  } else if (r.status !== 'completed' || epochs.length !== c.maxEpochs) {
    bad('status / epochs', `${r.status} after ${epochs.length}`, `completed after ${c.maxEpochs}`);
  }
  return out;
}

/**
 * Verifies the finished runs of the study protocols (see the module comment).
 * @param runs the store's runs (others than the study protocols' are ignored)
 * @param epochsOf the epoch rows of a run, in epoch order
 */
export async function verifyStudy(runs: StoredRun[], epochsOf: (runId: string) => Promise<EpochRecord[]>): Promise<StudyVerification> {
  const problems: string[] = [];
  const counts = new Map<string, { protocol: string; arm: string; finished: number }>();
  const seeds = new Map<string, Map<number, string>>();
  let epochsChecked = 0;
  for (const r of runs) {
    if (!(STUDY_PROTOCOLS as readonly string[]).includes(r.protocol) || !FINISHED_STATUSES.has(r.status)) continue;
    const key = `${r.protocol}\t${r.arm}`;
    const count = counts.get(key) ?? { protocol: r.protocol, arm: r.arm, finished: 0 };
    count.finished++;
    counts.set(key, count);
    const armSeeds = seeds.get(key) ?? new Map<number, string>();
    const twin = armSeeds.get(r.seed);
    if (twin) problems.push(`${r.runId}: seed ${r.seed} of ${r.protocol} ${r.arm} is also run ${twin}`);
    armSeeds.set(r.seed, r.runId);
    seeds.set(key, armSeeds);
    const epochs = await epochsOf(r.runId);
    epochsChecked += epochs.length;
    problems.push(...verifyRun(r, epochs));
  }
  return { runs: [...counts.values()], epochsChecked, problems };
}

/**
 * Opens a store read-only and verifies its study runs (verifyStudy).
 * @param location SQLite file or postgres:// URL
 * @throws StoreError when the location is not a readable results store
 */
export async function verifyStudyStore(location: string): Promise<StudyVerification> {
  const store = await openResultsStore(location, { readonly: true });
  try {
    return await verifyStudy(await store.listRuns(), (id) => store.listEpochs([id]));
  } finally {
    await store.close();
  }
}

/** The lines `verify-study` prints: runs per arm, then every problem or the verdict. */
export function verificationText(v: StudyVerification, location: string): string[] {
  const total = v.runs.reduce((a, r) => a + r.finished, 0);
  return [
    `verify-study: ${location}: ${total} finished run${total === 1 ? '' : 's'} of ${STUDY_PROTOCOLS.join(' / ')}, ${v.epochsChecked} epoch rows of them (runs still training are not checked)`,
    ...v.runs.map((r) => `  ${r.protocol} ${r.arm}: ${r.finished}`),
    ...(v.problems.length ? v.problems.map((p) => `problem: ${p}`) : ['every summary agrees with its epoch rows, every learning rate with its schedule, all on the full set (45,000 training images), seeds distinct']),
  ];
}
