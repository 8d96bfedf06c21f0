/**
 * copy-store: copies every run (row, epochs, checkpoint) and the planned runs from one results
 * store to another, SQLite or PostgreSQL either way, idempotently (see ResultsStore.importRun).
 *
 * A finished run is never replaced by a different finished run of the same id (run ids hash the
 * configuration, not the engine or the thread count: a wasm and a oneDNN run of one seed share an
 * id). Identical runs (same status, engine, threads and epoch metrics) are skipped; a conflict is
 * reported in one line per run and the target's run is kept, unless `onConflict` says the source
 * wins. A checkpoint whose SHA-256 does not match its bytes is reported and not copied.
 */
import { checkpointHash } from '../train/checkpoint';
import { FINISHED_STATUSES, type EpochRecord } from '../train/records';
import { engineLabel, type RunBundle } from './api';
import { openResultsStore } from './open';

/** What to do when both stores hold a different finished run of one id. */
export type ConflictPolicy = 'fail' | 'keep-target' | 'take-source';
export const CONFLICT_POLICIES: readonly ConflictPolicy[] = ['fail', 'keep-target', 'take-source'];

/** Which runs' checkpoints copy-store copies. */
export type CheckpointSelection = 'all' | 'unfinished' | 'none';
export const CHECKPOINT_SELECTIONS: readonly CheckpointSelection[] = ['all', 'unfinished', 'none'];

export interface CopyOptions {
  /** One line per 10 runs copied, per conflict and per corrupt checkpoint. */
  log?: (line: string) => void;
  /**
   * Which runs' checkpoints to copy (default 'all'): 'none' gives a small read-only store of
   * results; 'unfinished' keeps only what training needs to go on (a finished run's checkpoint is
   * never resumed), so that a copy of a store being trained does not grow by one checkpoint per
   * finished run.
   */
  checkpoints?: CheckpointSelection;
  /** Default 'fail': keep the target's run and report it (the caller exits non-zero). */
  onConflict?: ConflictPolicy;
}

export interface CopyResult {
  from: string;
  to: string;
  copied: number;
  unchanged: number;
  /** Planned runs the source holds. */
  planned: number;
  /** Of those, the ones the target did not hold yet (planned by this copy). */
  plannedNew: number;
  /** One line per run whose finished versions differ in the two stores. */
  conflicts: string[];
  /** Checkpoints not copied because their hash does not match. */
  corrupt: number;
}

const json = (text: unknown): Record<string, unknown> => {
  try {
    return JSON.parse(String(text ?? '{}')) as Record<string, unknown>;
  } catch {
    return {};
  }
};
/** The metrics of an epoch (not its seconds: a copy of one run and a rerun differ only there). */
const metrics = (e: EpochRecord) => JSON.stringify([e.epoch, e.iteration, e.learningRate, e.trainLoss, e.trainAccuracy, e.validationLoss,
  e.validationAccuracy, e.testLoss, e.testAccuracy]);

/**
 * How two finished versions of one run differ: status, engine (backend and its build or route),
 * thread count, number of epochs, the first epoch whose metrics differ.
 * @returns the differences, empty when the runs are the same
 */
export function finishedRunDifferences(target: RunBundle, source: RunBundle): string[] {
  const describe = (b: RunBundle) => ({
    status: String(b.run.status),
    engine: engineLabel(String(b.run.backend ?? ''), json(b.run.versions_json) as Record<string, string>),
    threads: Number(json(b.run.config_json).threads ?? 1),
  });
  const [t, s] = [describe(target), describe(source)];
  const out: string[] = [];
  for (const k of ['status', 'engine', 'threads'] as const) if (t[k] !== s[k]) out.push(`${k} ${t[k]} here vs ${s[k]} in the source`);
  if (target.epochs.length !== source.epochs.length) out.push(`${target.epochs.length} epochs here vs ${source.epochs.length}`);
  const first = target.epochs.findIndex((e, i) => !source.epochs[i] || metrics(e) !== metrics(source.epochs[i]));
  if (first >= 0) out.push(`epoch ${target.epochs[first].epoch} differs`);
  return out;
}

/**
 * Copies a results store into another (created if needed).
 * @param from source (opened read-only)
 * @param to destination
 * @returns counts, and the conflicts (the caller exits non-zero on them when the policy is 'fail')
 * @throws StoreError naming whichever store cannot be opened
 */
export async function copyStore(from: string, to: string, options: CopyOptions = {}): Promise<CopyResult> {
  const log = options.log ?? (() => undefined);
  const policy = options.onConflict ?? 'fail';
  const source = await openResultsStore(from, { readonly: true });
  try {
    const target = await openResultsStore(to, { log });
    try {
      const planned = await source.listPlanned();
      const plannedBefore = new Set((await target.listPlanned()).map((p) => p.runId));
      await target.planRuns(planned);
      const runs = await source.listRuns();
      const result: CopyResult = { from: source.location, to: target.location, copied: 0, unchanged: 0, planned: planned.length, plannedNew: planned.filter((p) => !plannedBefore.has(p.runId)).length, conflicts: [], corrupt: 0 };
      for (const [i, r] of runs.entries()) {
        const bundle = await source.exportRun(r.runId);
        if (!bundle) continue;
        const name = `run ${r.runId} (${r.protocol} ${r.arm} seed ${r.seed})`;
        const keep = options.checkpoints ?? 'all';
        if (keep === 'none' || (keep === 'unfinished' && FINISHED_STATUSES.has(r.status))) bundle.checkpoint = null;
        if (bundle.checkpoint && checkpointHash(bundle.checkpoint.state) !== bundle.checkpoint.sha256) {
          log(`${name}: checkpoint of epoch ${bundle.checkpoint.epoch} in ${source.location} is corrupt (sha256 mismatch); not copied`);
          bundle.checkpoint = null;
          result.corrupt++;
        }
        let replaceFinished = false;
        const mine = FINISHED_STATUSES.has(r.status) ? await target.exportRun(r.runId) : null;
        if (mine && FINISHED_STATUSES.has(String(mine.run.status))) {
          const diff = finishedRunDifferences(mine, bundle);
          if (diff.length) {
            const line = `conflict: ${name} is finished in both stores but differs (${diff.join('; ')}); ` +
              (policy === 'take-source' ? 'replaced by the source\'s' : `kept ${target.location}'s${policy === 'fail' ? ' (--on-conflict keep-target or take-source decides)' : ''}`);
            result.conflicts.push(line);
            log(line);
            replaceFinished = policy === 'take-source';
          }
        }
        if (await target.importRun(bundle, { replaceFinished })) result.copied++;
        else result.unchanged++;
        if ((i + 1) % 10 === 0) log(`copied ${i + 1}/${runs.length} runs`);
      }
      return result;
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}
