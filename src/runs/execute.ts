/**
 * Executes one run inside the current process: selects the engine, prepares the data, claims the run
 * under a lease, resumes it from its checkpoint (or starts it), and writes every finished epoch with
 * its checkpoint to the results store, fenced by the lease.
 */
import { selectEngine, threadsProblem, type BackendChoice } from '../engine/engine';
import { CheckpointError, checkpointThreads } from '../train/checkpoint';
import { ConfigError, configHash, runId as makeRunId, withThreads, type RunConfig } from '../train/config';
import { trainRun, TrainingInterrupted, type ResumeFrom, type TrainHooks } from '../train/loop';
import type { EpochRecord, RunStatus } from '../store/types';
import { keepLease } from './lease';
import { LeaseLostError, type ResultsStore, type WorkerIdentity } from '../store';
import { codeVersion, prepareRunData } from './prepare';
import type { LeaseOptions } from './settings';

/** What executeRun needs: the invocation's checked settings (settings.ts: lease, backend, threads) and its hooks. */
export interface ExecuteOptions extends LeaseOptions {
  dataDir: string;
  backend: BackendChoice;
  worker: WorkerIdentity;
  /**
   * Threads of a run started from epoch 1 (the data-parallel trainer when > 1; default: the
   * configuration's, else 1). A run resumed from a checkpoint continues with the checkpoint's count.
   */
  threads?: number;
  /** True when `threads` came from --threads auto: on an engine other than wasm/onednn it falls back to 1 instead of failing. */
  threadsAuto?: boolean;
  /** Failed runs whose failure is at or after this time (ISO, store clock) are not retried. */
  skipFailedSince?: string;
  onEpoch?(record: EpochRecord, run: RunConfig): void;
  onProgress?: TrainHooks['onProgress'];
  /** Called when the run is not trained: finished, held by another worker, or failed in this invocation. */
  onSkip?(reason: string): void;
  /** Asked between iterations: a reason stops the run, which is released resumable (SIGTERM). */
  shouldStop?(): string | null;
  log?(line: string): void;
}

/**
 * What became of a run: its final status; 'skipped' (finished, or failed in this invocation), 'held'
 * (another worker holds a live lease: try later), 'released' (stopped by shouldStop, resumable),
 * 'lease-lost' (taken over or cut off: this worker wrote nothing more).
 */
export type RunResult = RunStatus | 'skipped' | 'held' | 'released' | 'lease-lost';

let cachedCodeVersion: string | null | undefined;

/**
 * Trains one run and records it. Errors inside training mark the run failed (with the message) and are rethrown.
 * @returns what became of the run (RunResult)
 */
export async function executeRun(config: RunConfig, options: ExecuteOptions, store: ResultsStore): Promise<RunResult> {
  const engine = await selectEngine({ backend: options.backend });
  const log = options.log ?? ((l: string) => console.log(l));
  const id = makeRunId(config);
  const tag = `[${config.protocol} ${config.arm} seed ${config.seed}]`;
  let threads = options.threads ?? config.threads ?? 1;
  // the one place where 'auto' has become an engine: its threads are checked against it (settings.ts checked a named backend)
  const problem = threadsProblem(threads, engine.backend);
  if (problem) {
    if (!options.threadsAuto) throw new ConfigError(`--${problem}`);
    threads = 1;
  }
  const data = prepareRunData(options.dataDir, config.data);
  if (cachedCodeVersion === undefined) cachedCodeVersion = codeVersion();
  const fresh = withThreads(config, threads);
  const claim = await store.claimRun({
    runId: id, protocol: config.protocol, arm: config.arm, seed: config.seed, config: fresh as unknown as Record<string, unknown>,
    configHash: configHash(config), target: config.target, backend: engine.backend,
    versions: { ...engine.versions, node: process.version }, codeVersion: cachedCodeVersion,
  }, options.worker, { leaseSeconds: options.leaseSeconds, skipFailedSince: options.skipFailedSince });
  if (!claim.claimed) {
    options.onSkip?.(claim.reason);
    return claim.final ? 'skipped' : 'held';
  }
  claim.notes.forEach((n) => log(`warning: ${n}`));
  // a resumed run continues with the thread count that trained it (recorded in its checkpoint)
  let run = fresh;
  if (claim.resume) {
    let recorded = threads;
    try {
      recorded = checkpointThreads(claim.resume.checkpoint);
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e; // trainRun reports it and the run restarts below
    }
    run = withThreads(config, recorded);
    const other = recorded !== threads ? ` (its checkpoint's; this invocation would start it with ${threads})` : '';
    log(`${tag} resuming from the checkpoint of epoch ${claim.resume.epoch}${recorded > 1 || other ? ` with ${recorded} thread${recorded === 1 ? '' : 's'}${other}` : ''}`);
  } else if (threads > 1) {
    log(`${tag} training with ${threads} threads`);
  }
  const keeper = keepLease(store, claim.lease, options.heartbeatSeconds, log);
  const hooks: TrainHooks = {
    checkpointEvery: options.checkpointEvery,
    onEpoch: async (record, summary, checkpoint) => {
      await store.recordEpoch(claim.lease, record, summary, checkpoint);
      options.onEpoch?.(record, run);
    },
    onProgress: options.onProgress,
    shouldStop: () => keeper.lost() ?? options.shouldStop?.() ?? null,
  };
  try {
    let outcome;
    try {
      outcome = await trainRun(id, run, data, hooks, (claim.resume ?? undefined) as ResumeFrom | undefined);
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      log(`warning: run ${id}: its checkpoint cannot be restored (${e.message}); restarting the run from epoch 1`);
      await store.discardCheckpoint(claim.lease);
      outcome = await trainRun(id, run, data, hooks);
    }
    keeper.stop();
    await store.finishRun(claim.lease, { status: outcome.status, error: outcome.error });
    return outcome.status;
  } catch (e) {
    if (e instanceof LeaseLostError || (e instanceof TrainingInterrupted && keeper.lost())) {
      log(`${tag} ${e instanceof LeaseLostError ? e.message : `stopped: ${keeper.lost()}`}`);
      return 'lease-lost';
    }
    if (e instanceof TrainingInterrupted) {
      await store.releaseRun(claim.lease).catch((err: Error) => log(`${tag} could not release the run (${err.message}); it is taken over when its lease expires`));
      return 'released';
    }
    // the message, not the stack: the record (and runs.csv) holds no absolute paths of this host
    await store.finishRun(claim.lease, { status: 'failed', error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }).catch(() => undefined);
    throw e;
  } finally {
    keeper.stop();
  }
}
