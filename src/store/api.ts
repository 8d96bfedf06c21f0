/**
 * The results store's interface (Optuna-style: one interface, SQL behind it only): what a run, a
 * lease, a claim and a copied run are, and the operations every backend provides (sql/store.ts
 * implements them once, over SQLite or PostgreSQL).
 */
import * as os from 'node:os';
import type { ResumeFrom } from '../train/loop';
import type { EpochRecord, RunSummary } from '../train/records';
import type { RunRecord, RunStatus } from './types';

/** Identity and provenance of a run to start. */
export interface RunStart {
  runId: string;
  protocol: string;
  arm: string;
  seed: number;
  config: Record<string, unknown>;
  configHash: string;
  target: number | null;
  backend: string;
  versions: Record<string, string>;
  codeVersion: string | null;
}

/** A run as stored, with provenance and its lease. */
export interface StoredRun extends RunRecord {
  configHash: string;
  versions: Record<string, string>;
  codeVersion: string | null;
  attempts: number;
  host: string | null;
  pid: number | null;
  /** host:pid:id of the worker holding the run, or null. */
  leaseOwner: string | null;
  leaseToken: number;
  heartbeatAt: string | null;
  leaseExpiresAt: string | null;
  /** The lease's expiry has passed on the database's clock (at the time of the query). */
  leaseExpired: boolean;
  /** Epoch of the run's checkpoint, or null. */
  checkpointEpoch: number | null;
}

/** One worker process: what its leases are held under. */
export interface WorkerIdentity {
  host: string;
  pid: number;
  /** host:pid:random id. */
  owner: string;
}

/** A held run: every write under it is fenced by `token`. */
export interface Lease {
  runId: string;
  owner: string;
  token: number;
  leaseSeconds: number;
}

/** Where a claimed run resumes, when it has a good checkpoint: the training loop's resume point (its CPU seconds null when the epoch row predates schema 3) and its epoch. */
export interface ResumePoint extends ResumeFrom {
  epoch: number;
}

export type Claim =
  | { claimed: true; lease: Lease; resume: ResumePoint | null; notes: string[] }
  | { claimed: false; reason: string; /** the run is finished or excluded for good (else held: try again later) */ final: boolean };

/** A run of a protocol's expansion, recorded so that `status` can show what is still waiting. */
export interface PlannedRun {
  runId: string;
  protocol: string;
  arm: string;
  seed: number;
  /** 0-based index in the protocol's expansion (protocols --runs). */
  position: number;
  config: Record<string, unknown>;
}

/** Everything of one run, for copy-store. */
export interface RunBundle {
  run: Record<string, unknown>;
  epochs: EpochRecord[];
  checkpoint: { epoch: number; iteration: number; sha256: string; state: Uint8Array; writtenAt: string } | null;
}

/** Thrown by a fenced write when the run's lease is no longer this worker's. */
export class LeaseLostError extends Error {
  constructor(runId: string, detail = 'another worker took the run over') {
    super(`${runId}: lease lost (${detail}); this worker stops training it`);
    this.name = 'LeaseLostError';
  }
}

export interface ResultsStore {
  /** File path or PostgreSQL URL without password. */
  readonly location: string;
  readonly kind: 'sqlite' | 'postgres';
  /** A new store was initialised by this open. */
  readonly created: boolean;
  getRun(runId: string): Promise<StoredRun | null>;
  /** Runs ordered by protocol, arm, seed. */
  listRuns(filter?: { protocol?: string; arm?: string; status?: RunStatus }): Promise<StoredRun[]>;
  /** Epoch rows (all runs when runIds is undefined), ordered by run and epoch. */
  listEpochs(runIds?: string[]): Promise<EpochRecord[]>;
  /** Protocol names with runs or planned runs. */
  listProtocols(): Promise<string[]>;
  /** Records the expansion of a protocol (idempotent). */
  planRuns(runs: PlannedRun[]): Promise<void>;
  listPlanned(protocol?: string): Promise<PlannedRun[]>;
  /** The database's clock, ISO-8601 UTC. */
  now(): Promise<string>;
  /**
   * Claims a run atomically: creates or takes its row under a new lease unless it is finished, held
   * by a live lease of another worker, or failed at/after `skipFailedSince`. Epochs after the run's
   * checkpoint are deleted (they will be recomputed identically); a checkpoint whose hash does not
   * match is reported in `notes`, deleted, and the run restarts from epoch 1.
   */
  claimRun(start: RunStart, worker: WorkerIdentity, options: { leaseSeconds: number; skipFailedSince?: string }): Promise<Claim>;
  /** Extends the lease (one attempt: a lost connection rejects); false when it is no longer this worker's. */
  renewLease(lease: Lease): Promise<boolean>;
  /**
   * Writes one finished epoch, the run's summary and (when given) its checkpoint in one transaction,
   * renewing the lease. @throws LeaseLostError when the lease is no longer this worker's (nothing written)
   */
  recordEpoch(lease: Lease, record: EpochRecord, summary: Partial<RunSummary>, checkpoint: Uint8Array | null): Promise<void>;
  /** Final status; clears the lease. @throws LeaseLostError */
  finishRun(lease: Lease, finish: { status: Exclude<RunStatus, 'running'>; error?: string | null }): Promise<void>;
  /** Gives the run up (SIGTERM, --max-runs): status stays running, lease cleared, resumable at once. */
  releaseRun(lease: Lease): Promise<void>;
  /** Drops a run's checkpoint and epochs (the checkpoint could not be restored): it restarts from epoch 1. */
  discardCheckpoint(lease: Lease): Promise<void>;
  /** Marks a run failed if it is still held by `owner` (its worker process died). */
  failIfHeldBy(runId: string, owner: string, error: string): Promise<boolean>;
  /** Everything of a run (copy-store). */
  exportRun(runId: string): Promise<RunBundle | null>;
  /**
   * Writes a run copied from another store, idempotently: replaced when the source has progressed at
   * least as far; skipped when this store's copy is further (or as far with a checkpoint the bundle
   * lacks) or held by a live lease. A finished run here is never replaced unless
   * `options.replaceFinished` (copy-store --on-conflict take-source) and the source's is finished too.
   * @returns whether it was written
   */
  importRun(bundle: RunBundle, options?: { replaceFinished?: boolean }): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * A worker identity for this process: host name (WORKER_HOST overrides it, e.g. where containers
 * share a host name), pid and a random id.
 */
export function workerIdentity(): WorkerIdentity {
  const host = process.env.WORKER_HOST || os.hostname();
  return { host, pid: process.pid, owner: `${host}:${process.pid}:${Math.random().toString(36).slice(2, 10)}` };
}

/**
 * A run's engine as one label: its backend with the oneDNN build or wasm convolution route it used
 * (e.g. 'onednn 2.6.3 (avx512_core)', 'wasm winograd F(4x4,3x3)'); runs of different labels round
 * differently and train at different speeds.
 */
export function engineLabel(backend: string, versions: Record<string, string> | null | undefined): string {
  const detail = versions?.onednn ?? versions?.convolutions;
  return detail ? `${backend} ${detail}` : backend;
}
