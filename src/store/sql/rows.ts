/**
 * What the SQL store's statements share: the columns of a run's summary and of an epoch row, the
 * mapping of a `runs` row to a StoredRun, and the context every part of the store works in (the
 * driver, the database's clock as SQL, the run query with its lease and checkpoint columns).
 */
import type { EpochRecord, RunSummary } from '../../train/records';
import { engineLabel, type StoredRun } from '../api';
import type { RunStatus } from '../types';
import { nowPlusSql, nowSql } from './schema';
import { StoreError, type SqlDriver } from './driver';

/** A row as the driver returns it (column name -> value). */
export type Row = Record<string, unknown>;

/** One results store's driver and the SQL built once for its dialect. */
export interface SqlContext {
  db: SqlDriver;
  /** File path or URL without password: what every message names. */
  loc: string;
  /** The database's current time as ISO-8601 UTC text (nowSql). */
  NOW: string;
  /** Now + the `?` placeholder's seconds (nowPlusSql). */
  NOW_PLUS: string;
  /** SELECT of runs with lease_expired (0/1 on the database's clock) and checkpoint_epoch; add WHERE/ORDER BY. */
  runSelect: string;
}

/** The context of a store over `db`. */
export function sqlContext(db: SqlDriver): SqlContext {
  const NOW = nowSql(db.dialect);
  return {
    db, loc: db.location, NOW, NOW_PLUS: nowPlusSql(db.dialect, '?'),
    runSelect: `SELECT runs.*, CASE WHEN lease_expires_at IS NOT NULL AND lease_expires_at < ${NOW} THEN 1 ELSE 0 END AS lease_expired,
    (SELECT epoch FROM checkpoints c WHERE c.run_id = runs.run_id) AS checkpoint_epoch FROM runs`,
  };
}

const SUMMARY_COLUMNS: Record<keyof RunSummary, string> = {
  epochsToTarget: 'epochs_to_target', iterationsToTarget: 'iterations_to_target', secondsToTarget: 'seconds_to_target',
  epochsCompleted: 'epochs_completed', finalTestAccuracy: 'final_test_accuracy', bestValidationAccuracy: 'best_validation_accuracy',
  testAccuracyAtBestValidation: 'test_accuracy_at_best_validation',
};
const EPOCH_COLUMNS = ['run_id', 'epoch', 'iteration', 'learning_rate', 'train_loss', 'train_accuracy', 'validation_loss',
  'validation_accuracy', 'test_loss', 'test_accuracy', 'train_seconds', 'total_seconds', 'train_cpu_seconds', 'total_cpu_seconds'];

/** The epochs columns under EpochRecord's names. */
export const EPOCH_SELECT = `run_id AS "runId", epoch, iteration, learning_rate AS "learningRate", train_loss AS "trainLoss",
  train_accuracy AS "trainAccuracy", validation_loss AS "validationLoss", validation_accuracy AS "validationAccuracy",
  test_loss AS "testLoss", test_accuracy AS "testAccuracy", train_seconds AS "trainSeconds", total_seconds AS "totalSeconds",
  train_cpu_seconds AS "trainCpuSeconds", total_cpu_seconds AS "totalCpuSeconds"`;

/** Inserts or replaces one epoch row (parameters: epochValues). */
export const UPSERT_EPOCH = `INSERT INTO epochs(${EPOCH_COLUMNS.join(', ')}) VALUES (${EPOCH_COLUMNS.map(() => '?').join(', ')})
    ON CONFLICT (run_id, epoch) DO UPDATE SET ${EPOCH_COLUMNS.slice(2).map((c) => `${c} = excluded.${c}`).join(', ')}`;

/** UPSERT_EPOCH's parameters for one epoch record (CPU seconds NULL when absent). */
export const epochValues = (r: EpochRecord) => [r.runId, r.epoch, r.iteration, r.learningRate, r.trainLoss, r.trainAccuracy,
  r.validationLoss, r.validationAccuracy, r.testLoss, r.testAccuracy, r.trainSeconds, r.totalSeconds,
  r.trainCpuSeconds ?? null, r.totalCpuSeconds ?? null];

/**
 * `column = ?` assignments and their values for a (partial) run summary.
 * @throws Error for a field that is not a RunSummary field
 */
export function summarySets(summary: Partial<RunSummary>): { cols: string[]; vals: unknown[] } {
  const cols: string[] = [];
  const vals: unknown[] = [];
  for (const [k, v] of Object.entries(summary)) {
    const col = SUMMARY_COLUMNS[k as keyof RunSummary];
    if (!col) throw new Error(`unknown run summary field ${k}`);
    cols.push(`${col} = ?`);
    vals.push(v);
  }
  return { cols, vals };
}

/** engineLabel of a stored backend and versions_json (an unreadable JSON gives the backend alone). */
export function engineName(backend: string, versionsJson: unknown): string {
  try {
    return engineLabel(backend, JSON.parse(String(versionsJson ?? '{}')) as Record<string, string>);
  } catch {
    return backend;
  }
}

/** A nullable numeric column as a number or null (PostgreSQL returns some as strings). */
export const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/**
 * A JSON column of a run as an object ({} when NULL).
 * @throws StoreError naming the store, the run and the column when it is not valid JSON
 */
export const parse = (location: string, runId: unknown, field: string, text: unknown): Record<string, unknown> => {
  if (text === null || text === undefined) return {};
  try {
    return JSON.parse(String(text)) as Record<string, unknown>;
  } catch (e) {
    throw new StoreError(location, `run ${String(runId)}: column ${field} is not valid JSON (${(e as Error).message})`);
  }
};

/** A row of runSelect as a StoredRun. @throws StoreError for a JSON column that does not parse */
export function toStoredRun(location: string, r: Row): StoredRun {
  return {
    runId: String(r.run_id), protocol: String(r.protocol), arm: String(r.arm), seed: Number(r.seed),
    config: parse(location, r.run_id, 'config_json', r.config_json), backend: (r.backend as string | null) ?? '',
    status: r.status as RunStatus, target: num(r.target), epochsToTarget: num(r.epochs_to_target),
    iterationsToTarget: num(r.iterations_to_target), secondsToTarget: num(r.seconds_to_target), epochsCompleted: Number(r.epochs_completed),
    finalTestAccuracy: num(r.final_test_accuracy), bestValidationAccuracy: num(r.best_validation_accuracy),
    testAccuracyAtBestValidation: num(r.test_accuracy_at_best_validation), error: (r.error as string | null) ?? null,
    startedAt: String(r.started_at), finishedAt: (r.finished_at as string | null) ?? null, configHash: String(r.config_hash),
    versions: parse(location, r.run_id, 'versions_json', r.versions_json) as Record<string, string>,
    codeVersion: (r.code_version as string | null) ?? null, attempts: Number(r.attempts ?? 0),
    host: (r.host as string | null) ?? null, pid: num(r.pid), leaseOwner: (r.lease_owner as string | null) ?? null,
    leaseToken: Number(r.lease_token ?? 0), heartbeatAt: (r.heartbeat_at as string | null) ?? null,
    leaseExpiresAt: (r.lease_expires_at as string | null) ?? null, leaseExpired: Number(r.lease_expired ?? 0) === 1,
    checkpointEpoch: num(r.checkpoint_epoch),
  };
}
