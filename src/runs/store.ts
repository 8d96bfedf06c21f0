/**
 * Results store: an embedded SQLite database (better-sqlite3) with one row per run and one row per
 * finished epoch. WAL journal and a busy timeout let several worker processes write at once; each
 * epoch is written in one transaction together with the run's summary, so a killed process leaves
 * every finished epoch intact and nothing half-written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import Database from 'better-sqlite3';
import { processAlive } from './process';
import type { EpochRecord, RunRecord, RunStatus } from './types';

/** Schema version written by this code; a newer store is refused. */
export const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY,
  protocol TEXT NOT NULL,
  arm TEXT NOT NULL,
  seed INTEGER NOT NULL,
  config_json TEXT NOT NULL,
  config_hash TEXT NOT NULL,
  backend TEXT,
  versions_json TEXT,
  code_version TEXT,
  status TEXT NOT NULL,
  target REAL,
  epochs_to_target INTEGER,
  iterations_to_target INTEGER,
  seconds_to_target REAL,
  epochs_completed INTEGER NOT NULL DEFAULT 0,
  final_test_accuracy REAL,
  best_validation_accuracy REAL,
  test_accuracy_at_best_validation REAL,
  error TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  host TEXT,
  pid INTEGER,
  started_at TEXT NOT NULL,
  finished_at TEXT
);
CREATE TABLE IF NOT EXISTS epochs (
  run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  epoch INTEGER NOT NULL,
  iteration INTEGER NOT NULL,
  learning_rate REAL NOT NULL,
  train_loss REAL, train_accuracy REAL,
  validation_loss REAL, validation_accuracy REAL,
  test_loss REAL, test_accuracy REAL,
  train_seconds REAL NOT NULL,
  total_seconds REAL NOT NULL,
  PRIMARY KEY (run_id, epoch)
);
CREATE INDEX IF NOT EXISTS runs_protocol ON runs(protocol, arm);
`;

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

/** Final state of a run. */
export interface RunFinish {
  status: Exclude<RunStatus, 'running'>;
  error?: string | null;
}

export interface ResultsStore {
  readonly file: string;
  /** Run row by id, or null. */
  getRun(runId: string): RunRecord | null;
  /** All runs, optionally of one protocol, ordered by protocol, arm, seed. */
  listRuns(filter?: { protocol?: string; arm?: string; status?: RunStatus }): RunRecord[];
  /** Epoch rows of runs (all when runIds is undefined), ordered by run and epoch. */
  listEpochs(runIds?: string[]): EpochRecord[];
  /**
   * Marks a run as running (creating its row), deleting epochs of an earlier unfinished attempt
   * in the same transaction: an unfinished run restarts from epoch 1 (no mid-run checkpoints).
   */
  startRun(start: RunStart): void;
  /**
   * Atomically claims a run for this process: like startRun, unless the run is already finished
   * (completed, censored, diverged) or is 'running' in another live process on this host, which are
   * left untouched. Two processes training the same store can therefore never train the same run at once.
   * @returns claimed, or the reason it was not
   */
  claimRun(start: RunStart): { claimed: true } | { claimed: false; reason: string };
  /** Writes one finished epoch and the run's summary columns in one transaction. */
  recordEpoch(record: EpochRecord, summary: Partial<RunRecord>): void;
  /** Sets the final status (completed, censored, failed, diverged). */
  finishRun(runId: string, finish: RunFinish): void;
  /** Closes the connection. */
  close(): void;
  /** The underlying connection (for tests and exports). */
  readonly db: Database.Database;
}

/** Error about the results store file: names it. */
export class StoreError extends Error {
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'StoreError';
  }
}

interface RunRow {
  run_id: string; protocol: string; arm: string; seed: number; config_json: string; backend: string | null;
  status: RunStatus; target: number | null; epochs_to_target: number | null; iterations_to_target: number | null;
  seconds_to_target: number | null; epochs_completed: number; final_test_accuracy: number | null;
  best_validation_accuracy: number | null; test_accuracy_at_best_validation: number | null; error: string | null;
  started_at: string; finished_at: string | null; config_hash: string; versions_json: string | null; code_version: string | null;
  attempts: number;
}

function toRunRecord(r: RunRow): RunRecord & { configHash: string; versions: Record<string, string>; codeVersion: string | null; attempts: number } {
  return {
    runId: r.run_id, protocol: r.protocol, arm: r.arm, seed: r.seed, config: JSON.parse(r.config_json) as Record<string, unknown>,
    backend: r.backend ?? '', status: r.status, target: r.target, epochsToTarget: r.epochs_to_target,
    iterationsToTarget: r.iterations_to_target, secondsToTarget: r.seconds_to_target, epochsCompleted: r.epochs_completed,
    finalTestAccuracy: r.final_test_accuracy, bestValidationAccuracy: r.best_validation_accuracy,
    testAccuracyAtBestValidation: r.test_accuracy_at_best_validation, error: r.error, startedAt: r.started_at,
    finishedAt: r.finished_at, configHash: r.config_hash, versions: r.versions_json ? JSON.parse(r.versions_json) as Record<string, string> : {},
    codeVersion: r.code_version, attempts: r.attempts,
  };
}

const SUMMARY_COLUMNS: Record<string, string> = {
  epochsToTarget: 'epochs_to_target', iterationsToTarget: 'iterations_to_target', secondsToTarget: 'seconds_to_target',
  epochsCompleted: 'epochs_completed', finalTestAccuracy: 'final_test_accuracy', bestValidationAccuracy: 'best_validation_accuracy',
  testAccuracyAtBestValidation: 'test_accuracy_at_best_validation',
};

/**
 * Opens (creating if needed) a results store.
 * @param file path of the SQLite file (default data/results.sqlite, chosen by the caller)
 * @param options.readonly open without creating or migrating
 * @throws StoreError naming the file when its folder is not writable, it is not a SQLite database,
 *   or its schema version is newer than this code's
 */
export function openResultsStore(file: string, options: { readonly?: boolean } = {}): ResultsStore {
  const abs = path.resolve(file);
  if (options.readonly && !fs.existsSync(abs)) throw new StoreError(abs, 'results store does not exist (run an experiment first, or pass --results)');
  if (!options.readonly) {
    try {
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      fs.accessSync(path.dirname(abs), fs.constants.W_OK);
      if (fs.existsSync(abs)) fs.accessSync(abs, fs.constants.W_OK);
    } catch (e) {
      throw new StoreError(abs, `not writable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  if (fs.existsSync(abs) && fs.statSync(abs).isDirectory()) throw new StoreError(abs, 'is a directory, not a results store file');
  let db: Database.Database;
  try {
    db = new Database(abs, { readonly: !!options.readonly, timeout: 30000 });
    db.pragma('busy_timeout = 30000');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    const hasMeta = db.prepare("SELECT name FROM sqlite_master WHERE type='table' AND name='meta'").get();
    if (hasMeta) {
      const row = db.prepare("SELECT value FROM meta WHERE key='schema_version'").get() as { value: string } | undefined;
      const version = row ? Number(row.value) : 0;
      if (version > SCHEMA_VERSION) {
        db.close();
        throw new StoreError(abs, `schema version ${version} is newer than this code's ${SCHEMA_VERSION}; update the workspace (git pull) to read it`);
      }
    }
    if (!options.readonly) {
      db.pragma('journal_mode = WAL'); // only after the version check: a newer store is left untouched
      db.exec('BEGIN IMMEDIATE');
      try {
        db.exec(SCHEMA);
        db.prepare("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
        db.exec('COMMIT');
      } catch (e) {
        db.exec('ROLLBACK');
        throw e;
      }
    }
  } catch (e) {
    if (e instanceof StoreError) throw e;
    throw new StoreError(abs, `cannot open as a results store: ${(e as Error).message}`);
  }

  const insertEpoch = db.prepare(`INSERT OR REPLACE INTO epochs(run_id, epoch, iteration, learning_rate, train_loss, train_accuracy,
    validation_loss, validation_accuracy, test_loss, test_accuracy, train_seconds, total_seconds)
    VALUES (@runId, @epoch, @iteration, @learningRate, @trainLoss, @trainAccuracy, @validationLoss, @validationAccuracy,
    @testLoss, @testAccuracy, @trainSeconds, @totalSeconds)`);
  const now = () => new Date().toISOString();

  // Test-only fault hook (test/reliability-kill.test.ts): WS_FAULT=kill-in-epoch-write:N SIGKILLs this
  // process inside the transaction writing epoch N, after its rows are written and before the commit.
  const killAtEpoch = /^kill-in-epoch-write:(\d+)$/.exec(process.env.WS_FAULT ?? '')?.[1];

  const recordEpoch = db.transaction((record: EpochRecord, summary: Partial<RunRecord>) => {
    insertEpoch.run(record);
    const sets: string[] = [];
    const values: Record<string, unknown> = { runId: record.runId };
    for (const [k, v] of Object.entries(summary)) {
      const col = SUMMARY_COLUMNS[k];
      if (!col) throw new Error(`unknown run summary field ${k}`);
      sets.push(`${col} = @${k}`);
      values[k] = v;
    }
    if (sets.length) db.prepare(`UPDATE runs SET ${sets.join(', ')} WHERE run_id = @runId`).run(values);
    if (killAtEpoch !== undefined && record.epoch === Number(killAtEpoch)) process.kill(process.pid, 'SIGKILL');
  });

  const startRun = db.transaction((s: RunStart) => {
    db.prepare('DELETE FROM epochs WHERE run_id = ?').run(s.runId);
    db.prepare(`INSERT INTO runs(run_id, protocol, arm, seed, config_json, config_hash, backend, versions_json, code_version,
        status, target, epochs_completed, attempts, host, pid, started_at)
      VALUES (@runId, @protocol, @arm, @seed, @config, @configHash, @backend, @versions, @codeVersion, 'running', @target, 0, 1, @host, @pid, @now)
      ON CONFLICT(run_id) DO UPDATE SET status='running', backend=@backend, versions_json=@versions, code_version=@codeVersion,
        config_json=@config, epochs_to_target=NULL, iterations_to_target=NULL, seconds_to_target=NULL, epochs_completed=0,
        final_test_accuracy=NULL, best_validation_accuracy=NULL, test_accuracy_at_best_validation=NULL, error=NULL,
        attempts=attempts+1, host=@host, pid=@pid, started_at=@now, finished_at=NULL`).run({
      ...s, config: JSON.stringify(s.config), versions: JSON.stringify(s.versions), host: require('node:os').hostname(), pid: process.pid, now: now(),
    });
  });

  const claimRun = db.transaction((s: RunStart): { claimed: true } | { claimed: false; reason: string } => {
    const row = db.prepare('SELECT status, host, pid FROM runs WHERE run_id = ?').get(s.runId) as { status: RunStatus; host: string | null; pid: number | null } | undefined;
    if (row && (row.status === 'completed' || row.status === 'censored' || row.status === 'diverged')) {
      return { claimed: false, reason: `already finished (${row.status})` };
    }
    if (row && row.status === 'running' && row.pid !== process.pid && row.host === os.hostname() && processAlive(row.pid)) {
      return { claimed: false, reason: `being trained by another live process (pid ${row.pid})` };
    }
    startRun(s);
    return { claimed: true };
  });

  return {
    file: abs,
    db,
    getRun(runId) {
      const r = db.prepare('SELECT * FROM runs WHERE run_id = ?').get(runId) as RunRow | undefined;
      return r ? toRunRecord(r) : null;
    },
    listRuns(filter = {}) {
      const where: string[] = [];
      if (filter.protocol) where.push('protocol = @protocol');
      if (filter.arm) where.push('arm = @arm');
      if (filter.status) where.push('status = @status');
      const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY protocol, arm, seed, run_id`;
      return (db.prepare(sql).all(filter) as RunRow[]).map(toRunRecord);
    },
    listEpochs(runIds) {
      const cols = `run_id AS runId, epoch, iteration, learning_rate AS learningRate, train_loss AS trainLoss,
        train_accuracy AS trainAccuracy, validation_loss AS validationLoss, validation_accuracy AS validationAccuracy,
        test_loss AS testLoss, test_accuracy AS testAccuracy, train_seconds AS trainSeconds, total_seconds AS totalSeconds`;
      if (!runIds) return db.prepare(`SELECT ${cols} FROM epochs ORDER BY run_id, epoch`).all() as EpochRecord[];
      const stmt = db.prepare(`SELECT ${cols} FROM epochs WHERE run_id = ? ORDER BY epoch`);
      return runIds.flatMap((id) => stmt.all(id) as EpochRecord[]);
    },
    startRun: (s) => startRun.immediate(s),
    claimRun: (s) => claimRun.immediate(s),
    recordEpoch: (r, s) => recordEpoch.immediate(r, s),
    finishRun(runId, f) {
      db.prepare('UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE run_id = ?').run(f.status, f.error ?? null, now(), runId);
    },
    close: () => db.close(),
  };
}
