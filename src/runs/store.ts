/**
 * Results store: one interface, two databases behind it (SQLite file, the default; PostgreSQL URL,
 * for many hosts), the same schema (schema.ts). One row per run, one per finished epoch, the latest
 * checkpoint of each run, and the planned runs of each protocol. Nothing outside src/runs sees SQL.
 *
 * Coordination (after Optuna's RDB storage): a worker claims a run atomically and holds a lease on
 * it (owner = host:pid:random id, a fencing token incremented by every claim, an expiry on the
 * database's clock) which it renews by heartbeat. A run whose lease expired (or, on the same host,
 * whose process is gone) is taken over and resumes from its checkpoint. Every epoch write, the
 * finish and the release succeed only under the current token: a worker that lost its lease never
 * writes over the worker that took the run over.
 */
import { emptySummary, FINISHED_STATUSES, summarizeEpochs, type EpochRecord, type RunSummary } from '../train/records';
import { checkpointHash } from '../train/checkpoint';
import { processAlive } from './process';
import { openPostgres } from './postgres';
import { nowPlusSql, nowSql } from './schema';
import { checkLocationShape, isPostgresUrl, StoreError, type SqlDriver, type SqlExecutor } from './sql';
import { openSqlite, probeSqlite } from './sqlite';
import type { RunStatus } from './types';
import {
  LeaseLostError, engineLabel, type Claim, type Lease, type ResultsStore, type ResumePoint, type StoredRun,
} from './store-api';

export * from './store-api';

export { SCHEMA_VERSION } from './schema';
export { StoreError, isPostgresUrl, redactLocation } from './sql';

/** Test-only fault hook: WS_FAULT=kill-in-epoch-write:N SIGKILLs inside epoch N's transaction (tests). */
const killAtEpoch = () => /^kill-in-epoch-write:(\d+)$/.exec(process.env.WS_FAULT ?? '')?.[1];

const SUMMARY_COLUMNS: Record<keyof RunSummary, string> = {
  epochsToTarget: 'epochs_to_target', iterationsToTarget: 'iterations_to_target', secondsToTarget: 'seconds_to_target',
  epochsCompleted: 'epochs_completed', finalTestAccuracy: 'final_test_accuracy', bestValidationAccuracy: 'best_validation_accuracy',
  testAccuracyAtBestValidation: 'test_accuracy_at_best_validation',
};
const EPOCH_COLUMNS = ['run_id', 'epoch', 'iteration', 'learning_rate', 'train_loss', 'train_accuracy', 'validation_loss',
  'validation_accuracy', 'test_loss', 'test_accuracy', 'train_seconds', 'total_seconds', 'train_cpu_seconds', 'total_cpu_seconds'];
const EPOCH_SELECT = `run_id AS "runId", epoch, iteration, learning_rate AS "learningRate", train_loss AS "trainLoss",
  train_accuracy AS "trainAccuracy", validation_loss AS "validationLoss", validation_accuracy AS "validationAccuracy",
  test_loss AS "testLoss", test_accuracy AS "testAccuracy", train_seconds AS "trainSeconds", total_seconds AS "totalSeconds",
  train_cpu_seconds AS "trainCpuSeconds", total_cpu_seconds AS "totalCpuSeconds"`;
const epochValues = (r: EpochRecord) => [r.runId, r.epoch, r.iteration, r.learningRate, r.trainLoss, r.trainAccuracy,
  r.validationLoss, r.validationAccuracy, r.testLoss, r.testAccuracy, r.trainSeconds, r.totalSeconds,
  r.trainCpuSeconds ?? null, r.totalCpuSeconds ?? null];

type Row = Record<string, unknown>;
/** engineLabel of a stored backend and versions_json (an unreadable JSON gives the backend alone). */
function engineName(backend: string, versionsJson: unknown): string {
  try {
    return engineLabel(backend, JSON.parse(String(versionsJson ?? '{}')) as Record<string, string>);
  } catch {
    return backend;
  }
}

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const parse = (location: string, runId: unknown, field: string, text: unknown): Record<string, unknown> => {
  if (text === null || text === undefined) return {};
  try {
    return JSON.parse(String(text)) as Record<string, unknown>;
  } catch (e) {
    throw new StoreError(location, `run ${String(runId)}: column ${field} is not valid JSON (${(e as Error).message})`);
  }
};

function toStoredRun(location: string, r: Row): StoredRun {
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

/**
 * Opens a results store: a postgres:// or postgresql:// URL, else a SQLite file path.
 * @param options.readonly read commands: never creates, migrates or writes anything
 * @param options.log where PostgreSQL outage lines go (default console.error)
 * @throws StoreError naming the file or host/database (never a password); a mistyped URL scheme
 */
export async function openResultsStore(location: string, options: { readonly?: boolean; log?: (line: string) => void } = {}): Promise<ResultsStore> {
  checkLocationShape(location);
  const driver = isPostgresUrl(location) ? await openPostgres(location, options) : openSqlite(location, options);
  return sqlStore(driver);
}

/**
 * Checks a store before the data is read, so that a bad --results is the first error: a SQLite file
 * is probed without creating anything; a PostgreSQL store is opened (creating its schema) and returned.
 * @returns the opened store (PostgreSQL) or null (SQLite: open it when training starts)
 * @throws StoreError as openResultsStore
 */
export async function checkResultsStore(location: string, options: { log?: (line: string) => void } = {}): Promise<ResultsStore | null> {
  if (isPostgresUrl(location)) return openResultsStore(location, options);
  probeSqlite(location);
  return null;
}

function sqlStore(db: SqlDriver): ResultsStore {
  const NOW = nowSql(db.dialect);
  const NOW_PLUS = nowPlusSql(db.dialect, '?');
  const loc = db.location;
  const runSelect = `SELECT runs.*, CASE WHEN lease_expires_at IS NOT NULL AND lease_expires_at < ${NOW} THEN 1 ELSE 0 END AS lease_expired,
    (SELECT epoch FROM checkpoints c WHERE c.run_id = runs.run_id) AS checkpoint_epoch FROM runs`;
  const fenced = async (tx: SqlExecutor, lease: Lease, sets: string, params: unknown[]) => {
    const n = await tx.run(`UPDATE runs SET ${sets} WHERE run_id = ? AND lease_token = ? AND lease_owner = ?`, [...params, lease.runId, lease.token, lease.owner]);
    if (n !== 1) throw new LeaseLostError(lease.runId);
  };
  const summarySets = (summary: Partial<RunSummary>) => {
    const cols: string[] = [];
    const vals: unknown[] = [];
    for (const [k, v] of Object.entries(summary)) {
      const col = SUMMARY_COLUMNS[k as keyof RunSummary];
      if (!col) throw new Error(`unknown run summary field ${k}`);
      cols.push(`${col} = ?`);
      vals.push(v);
    }
    return { cols, vals };
  };
  const upsertEpoch = `INSERT INTO epochs(${EPOCH_COLUMNS.join(', ')}) VALUES (${EPOCH_COLUMNS.map(() => '?').join(', ')})
    ON CONFLICT (run_id, epoch) DO UPDATE SET ${EPOCH_COLUMNS.slice(2).map((c) => `${c} = excluded.${c}`).join(', ')}`;

  /** Decides what a claim resumes from, inside the claim's transaction. */
  const resumePoint = async (tx: SqlExecutor, runId: string, target: number | null, notes: string[]): Promise<ResumePoint | null> => {
    const ck = (await tx.all<Row>('SELECT epoch, sha256, state FROM checkpoints WHERE run_id = ?', [runId]))[0];
    let resume: ResumePoint | null = null;
    if (ck) {
      const state = new Uint8Array(ck.state as Uint8Array);
      if (checkpointHash(state) !== ck.sha256) {
        notes.push(`run ${runId}: checkpoint of epoch ${String(ck.epoch)} is corrupt (sha256 mismatch); restarting the run from epoch 1`);
      } else {
        const epochs = await tx.all<EpochRecord>(`SELECT ${EPOCH_SELECT} FROM epochs WHERE run_id = ? AND epoch <= ? ORDER BY epoch`, [runId, ck.epoch]);
        const last = epochs[epochs.length - 1];
        if (epochs.length === Number(ck.epoch) && last) {
          resume = { epoch: Number(ck.epoch), checkpoint: state, trainSeconds: last.trainSeconds, totalSeconds: last.totalSeconds,
            trainCpuSeconds: num(last.trainCpuSeconds), totalCpuSeconds: num(last.totalCpuSeconds), summary: summarizeEpochs(epochs, target) };
        } else {
          notes.push(`run ${runId}: checkpoint of epoch ${String(ck.epoch)} has ${epochs.length} epoch rows before it; restarting the run from epoch 1`);
        }
      }
    }
    const keep = resume?.epoch ?? 0;
    if (!resume && !ck) {
      const had = Number((await tx.all<Row>('SELECT COUNT(*) AS n FROM epochs WHERE run_id = ?', [runId]))[0].n);
      if (had > 0) notes.push(`run ${runId}: no checkpoint (--checkpoint-every 0 or an older store); restarting from epoch 1, ${had} finished epoch${had === 1 ? '' : 's'} discarded`);
    }
    if (!resume) await tx.run('DELETE FROM checkpoints WHERE run_id = ?', [runId]);
    await tx.run('DELETE FROM epochs WHERE run_id = ? AND epoch > ?', [runId, keep]);
    const s = summarySets(resume?.summary ?? emptySummary());
    await tx.run(`UPDATE runs SET ${s.cols.join(', ')} WHERE run_id = ?`, [...s.vals, runId]);
    return resume;
  };

  return {
    location: loc,
    kind: db.dialect,
    created: db.created,
    async getRun(runId) {
      const r = (await db.all<Row>(`${runSelect} WHERE run_id = ?`, [runId]))[0];
      return r ? toStoredRun(loc, r) : null;
    },
    async listRuns(filter = {}) {
      const where: string[] = [];
      const params: unknown[] = [];
      for (const [k, col] of [['protocol', 'protocol'], ['arm', 'arm'], ['status', 'status']] as const) {
        if (filter[k]) {
          where.push(`${col} = ?`);
          params.push(filter[k]);
        }
      }
      const rows = await db.all<Row>(`${runSelect} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY protocol, arm, seed, run_id`, params);
      return rows.map((r) => toStoredRun(loc, r));
    },
    async listEpochs(runIds) {
      const fix = (rows: EpochRecord[]) => rows.map((r) => ({ ...r, epoch: Number(r.epoch), iteration: Number(r.iteration) }));
      if (!runIds) return fix(await db.all<EpochRecord>(`SELECT ${EPOCH_SELECT} FROM epochs ORDER BY run_id, epoch`));
      const out: EpochRecord[] = [];
      for (const id of runIds) out.push(...fix(await db.all<EpochRecord>(`SELECT ${EPOCH_SELECT} FROM epochs WHERE run_id = ? ORDER BY epoch`, [id])));
      return out;
    },
    async listProtocols() {
      const rows = await db.all<{ protocol: string }>('SELECT protocol FROM runs UNION SELECT protocol FROM planned_runs ORDER BY protocol');
      return rows.map((r) => r.protocol);
    },
    async planRuns(runs) {
      if (runs.length === 0) return;
      await db.transaction(async (tx) => {
        for (const r of runs) {
          await tx.run(`INSERT INTO planned_runs(run_id, protocol, arm, seed, position, config_json, planned_at) VALUES (?, ?, ?, ?, ?, ?, ${NOW})
            ON CONFLICT (run_id) DO NOTHING`, [r.runId, r.protocol, r.arm, r.seed, r.position, JSON.stringify(r.config)]);
        }
      });
    },
    async listPlanned(protocol) {
      const rows = await db.all<Row>(`SELECT * FROM planned_runs ${protocol ? 'WHERE protocol = ?' : ''} ORDER BY protocol, position`, protocol ? [protocol] : []);
      return rows.map((r) => ({ runId: String(r.run_id), protocol: String(r.protocol), arm: String(r.arm), seed: Number(r.seed), position: Number(r.position), config: parse(loc, r.run_id, 'config_json', r.config_json) }));
    },
    async now() {
      return (await db.all<{ now: string }>(`SELECT ${NOW} AS now`))[0].now;
    },
    claimRun(s, worker, options) {
      return db.transaction(async (tx): Promise<Claim> => {
        // a row to lock even for a run never started (two workers may claim it at once): unowned, as if released
        await tx.run(`INSERT INTO runs(run_id, protocol, arm, seed, config_json, config_hash, target, status, epochs_completed, attempts, lease_token, started_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, 'running', 0, 0, 0, ${NOW}) ON CONFLICT (run_id) DO NOTHING`,
        [s.runId, s.protocol, s.arm, s.seed, JSON.stringify(s.config), s.configHash, s.target]);
        const row = (await tx.all<Row>(`SELECT status, lease_owner, lease_token, host, pid, finished_at, backend, versions_json,
            CASE WHEN lease_expires_at IS NULL OR lease_expires_at < ${NOW} THEN 1 ELSE 0 END AS expired
            FROM runs WHERE run_id = ? ${db.forUpdate}`, [s.runId]))[0];
        if (row) {
          const status = row.status as RunStatus;
          if (FINISHED_STATUSES.has(status)) return { claimed: false, reason: `already finished (${status})`, final: true };
          if (status === 'failed' && options.skipFailedSince && String(row.finished_at ?? '') >= options.skipFailedSince) {
            return { claimed: false, reason: `failed during this invocation (${String(row.finished_at)})`, final: true };
          }
          const owner = row.lease_owner as string | null;
          const sameHostAlive = row.host === worker.host && num(row.pid) !== worker.pid && processAlive(num(row.pid));
          if (status === 'running' && owner && owner !== worker.owner && Number(row.expired) !== 1 && (row.host !== worker.host || sameHostAlive)) {
            return { claimed: false, reason: `held by ${owner}`, final: false };
          }
          // a run of a schema-1 store (no lease yet): held while its process on this host lives
          if (status === 'running' && !owner && Number(row.lease_token) === 0 && sameHostAlive) {
            return { claimed: false, reason: `being trained by another live process (pid ${String(row.pid)})`, final: false };
          }
        }
        await tx.run(`UPDATE runs SET backend = ?, versions_json = ?, code_version = ?, lease_owner = ?, host = ?, pid = ?, lease_expires_at = ${NOW_PLUS},
            status = 'running', error = NULL, finished_at = NULL, attempts = attempts + 1, lease_token = lease_token + 1, heartbeat_at = ${NOW}
          WHERE run_id = ?`, [s.backend, JSON.stringify(s.versions), s.codeVersion, worker.owner, worker.host, worker.pid, options.leaseSeconds, s.runId]);
        const token = Number((await tx.all<Row>('SELECT lease_token FROM runs WHERE run_id = ?', [s.runId]))[0].lease_token);
        const notes: string[] = [];
        const resume = await resumePoint(tx, s.runId, s.target, notes);
        const engineBefore = row?.backend ? engineName(String(row.backend), row.versions_json) : null;
        if (resume && engineBefore && engineBefore !== engineName(s.backend, JSON.stringify(s.versions))) {
          notes.push(`run ${s.runId}: resuming on ${engineName(s.backend, JSON.stringify(s.versions))} a run trained on ${engineBefore} up to epoch ${resume.epoch}; its later epochs round differently from an uninterrupted run`);
          // the run's record names its current engine; keep what trained its first epochs
          const before = (JSON.parse(String(row?.versions_json ?? '{}')) as Record<string, string>).earlierEngines;
          const earlier = `${before ? `${before}; ` : ''}${engineBefore} to epoch ${resume.epoch}`;
          await tx.run('UPDATE runs SET versions_json = ? WHERE run_id = ?', [JSON.stringify({ ...s.versions, earlierEngines: earlier }), s.runId]);
        }
        // a run (re)starting from epoch 1 records the configuration it trains with now (its thread
        // count may differ from an earlier attempt's); a resumed run keeps the one it started with
        if (!resume) await tx.run(`UPDATE runs SET started_at = ${NOW}, config_json = ? WHERE run_id = ?`, [JSON.stringify(s.config), s.runId]);
        return { claimed: true, lease: { runId: s.runId, owner: worker.owner, token, leaseSeconds: options.leaseSeconds }, resume, notes };
      });
    },
    async renewLease(lease) {
      const n = await db.runOnce(`UPDATE runs SET heartbeat_at = ${NOW}, lease_expires_at = ${NOW_PLUS} WHERE run_id = ? AND lease_token = ? AND lease_owner = ?`,
        [lease.leaseSeconds, lease.runId, lease.token, lease.owner]);
      return n === 1;
    },
    recordEpoch(lease, record, summary, checkpoint) {
      return db.transaction(async (tx) => {
        const s = summarySets(summary);
        await fenced(tx, lease, [...s.cols, `heartbeat_at = ${NOW}`, `lease_expires_at = ${NOW_PLUS}`].join(', '), [...s.vals, lease.leaseSeconds]);
        await tx.run(upsertEpoch, epochValues(record));
        if (checkpoint) {
          await tx.run(`INSERT INTO checkpoints(run_id, epoch, iteration, sha256, size_bytes, state, written_at) VALUES (?, ?, ?, ?, ?, ?, ${NOW})
            ON CONFLICT (run_id) DO UPDATE SET epoch = excluded.epoch, iteration = excluded.iteration, sha256 = excluded.sha256,
            size_bytes = excluded.size_bytes, state = excluded.state, written_at = excluded.written_at`,
          [record.runId, record.epoch, record.iteration, checkpointHash(checkpoint), checkpoint.length, Buffer.from(checkpoint.buffer, checkpoint.byteOffset, checkpoint.length)]);
        }
        if (killAtEpoch() !== undefined && record.epoch === Number(killAtEpoch())) process.kill(process.pid, 'SIGKILL');
      });
    },
    finishRun(lease, f) {
      return db.transaction((tx) => fenced(tx, lease, `status = ?, error = ?, finished_at = ${NOW}, lease_owner = NULL, lease_expires_at = NULL`, [f.status, f.error ?? null]));
    },
    releaseRun(lease) {
      return db.transaction((tx) => fenced(tx, lease, `lease_owner = NULL, lease_expires_at = NULL, heartbeat_at = ${NOW}`, []));
    },
    discardCheckpoint(lease) {
      return db.transaction(async (tx) => {
        await fenced(tx, lease, `heartbeat_at = ${NOW}`, []);
        await tx.run('DELETE FROM checkpoints WHERE run_id = ?', [lease.runId]);
        await resumePoint(tx, lease.runId, null, []);
      });
    },
    async failIfHeldBy(runId, owner, error) {
      const n = await db.run(`UPDATE runs SET status = 'failed', error = ?, finished_at = ${NOW}, lease_owner = NULL, lease_expires_at = NULL
        WHERE run_id = ? AND status = 'running' AND lease_owner = ?`, [error, runId, owner]);
      return n === 1;
    },
    async exportRun(runId) {
      const run = (await db.all<Row>('SELECT * FROM runs WHERE run_id = ?', [runId]))[0];
      if (!run) return null;
      const epochs = await this.listEpochs([runId]);
      const ck = (await db.all<Row>('SELECT * FROM checkpoints WHERE run_id = ?', [runId]))[0];
      return {
        run, epochs,
        checkpoint: ck ? { epoch: Number(ck.epoch), iteration: Number(ck.iteration), sha256: String(ck.sha256), state: new Uint8Array(ck.state as Uint8Array), writtenAt: String(ck.written_at) } : null,
      };
    },
    importRun(b, options = {}) {
      return db.transaction(async (tx) => {
        const src = b.run;
        const mine = (await tx.all<Row>(`SELECT status, epochs_completed, lease_owner, attempts, CASE WHEN lease_expires_at IS NULL OR lease_expires_at < ${NOW} THEN 1 ELSE 0 END AS expired,
          (SELECT sha256 FROM checkpoints c WHERE c.run_id = runs.run_id) AS sha256 FROM runs WHERE run_id = ? ${db.forUpdate}`, [src.run_id]))[0];
        if (mine) {
          if (mine.lease_owner && Number(mine.expired) !== 1) return false;
          const same = mine.status === src.status && Number(mine.epochs_completed) === Number(src.epochs_completed) &&
            Number(mine.attempts) === Number(src.attempts) && (mine.sha256 ?? null) === (b.checkpoint?.sha256 ?? null);
          if (same && !options.replaceFinished) return false; // replaceFinished: the caller found them different
          const srcDone = FINISHED_STATUSES.has(String(src.status));
          const mineDone = FINISHED_STATUSES.has(String(mine.status));
          if (mineDone && (!srcDone || !options.replaceFinished)) return false;
          // an unfinished run: kept when further, or as far with a checkpoint the source does not bring
          const further = Number(mine.epochs_completed) - Number(src.epochs_completed);
          if (!srcDone && (further > 0 || (further === 0 && mine.sha256 && !b.checkpoint))) return false;
          await tx.run('DELETE FROM runs WHERE run_id = ?', [src.run_id]);
        }
        const cols = Object.keys(src).filter((c) => !['lease_owner', 'lease_expires_at', 'lease_expired', 'checkpoint_epoch'].includes(c));
        await tx.run(`INSERT INTO runs(${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`, cols.map((c) => src[c]));
        for (const e of b.epochs) await tx.run(upsertEpoch, epochValues(e));
        if (b.checkpoint) {
          const c = b.checkpoint;
          await tx.run('INSERT INTO checkpoints(run_id, epoch, iteration, sha256, size_bytes, state, written_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
            [src.run_id, c.epoch, c.iteration, c.sha256, c.state.length, Buffer.from(c.state), c.writtenAt]);
        }
        return true;
      });
    },
    close: () => db.close(),
  };
}
