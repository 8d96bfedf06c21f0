/**
 * Executes one run inside the current process: selects the engine, prepares the data, trains, and
 * writes every finished epoch to the results store as it ends.
 */
import { selectEngine, type BackendChoice } from '../engine/engine';
import { configHash, runId as makeRunId, type RunConfig } from '../train/config';
import { trainRun, type TrainHooks } from '../train/loop';
import type { EpochRecord, RunStatus } from './types';
import { openResultsStore, type ResultsStore } from './store';
import { codeVersion, prepareRunData } from './prepare';

export interface ExecuteOptions {
  storePath: string;
  dataDir: string;
  backend: BackendChoice;
  onEpoch?(record: EpochRecord, run: RunConfig): void;
  onProgress?: TrainHooks['onProgress'];
  /** Called when the run is not trained because another process finished or is training it. */
  onSkip?(reason: string): void;
}

let cachedCodeVersion: string | null | undefined;

/**
 * Trains one run and records it. Errors inside training mark the run failed (with the message) and are rethrown.
 * The run is claimed atomically in the store first (see ResultsStore.claimRun): a run finished or being
 * trained by another live process meanwhile is left alone and 'skipped' is returned.
 * @returns the final status, or 'skipped'
 */
export async function executeRun(config: RunConfig, options: ExecuteOptions, store?: ResultsStore): Promise<RunStatus | 'skipped'> {
  const engine = await selectEngine({ backend: options.backend });
  const own = !store;
  const db = store ?? openResultsStore(options.storePath);
  const id = makeRunId(config);
  try {
    const data = prepareRunData(options.dataDir, config.data);
    if (cachedCodeVersion === undefined) cachedCodeVersion = codeVersion();
    const claim = db.claimRun({
      runId: id, protocol: config.protocol, arm: config.arm, seed: config.seed, config: config as unknown as Record<string, unknown>,
      configHash: configHash(config), target: config.target, backend: engine.backend,
      versions: { ...engine.versions, node: process.version }, codeVersion: cachedCodeVersion,
    });
    if (!claim.claimed) {
      options.onSkip?.(claim.reason);
      return 'skipped';
    }
    try {
      const outcome = await trainRun(id, config, data, {
        onEpoch: (record, summary) => {
          db.recordEpoch(record, summary);
          options.onEpoch?.(record, config);
        },
        onProgress: options.onProgress,
      });
      db.finishRun(id, { status: outcome.status, error: outcome.error });
      return outcome.status;
    } catch (e) {
      db.finishRun(id, { status: 'failed', error: (e as Error).stack ?? String(e) });
      throw e;
    }
  } finally {
    if (own) db.close();
  }
}
