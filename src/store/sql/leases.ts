/**
 * Leases (after Optuna's RDB storage): a worker claims a run atomically and holds it under an owner
 * (host:pid:random id), a fencing token incremented by every claim and an expiry on the database's
 * clock, renewed by heartbeat. A run whose lease expired (or, on the same host, whose process is
 * gone) is taken over and resumes from its checkpoint. Finish and release are fenced (fence.ts).
 */
import { FINISHED_STATUSES } from '../../train/records';
import type { Claim, Lease, RunStart, WorkerIdentity } from '../api';
import { processAlive } from '../process';
import type { RunStatus } from '../types';
import { resumePoint } from './checkpoints';
import { fenced } from './fence';
import { engineName, num, type Row, type SqlContext } from './rows';

/**
 * ResultsStore.claimRun over SQL, in one transaction: creates the run's row if needed (unowned),
 * locks it, refuses a finished run, one failed since `skipFailedSince`, or one held by a live lease of
 * another worker; else takes a new lease and decides the resume point (checkpoints.ts). Notes name a
 * resume on another engine than the run's first epochs (recorded in versions_json.earlierEngines).
 */
export function claimRun(ctx: SqlContext, s: RunStart, worker: WorkerIdentity, options: { leaseSeconds: number; skipFailedSince?: string }): Promise<Claim> {
  const { db, NOW, NOW_PLUS } = ctx;
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
}

/** ResultsStore.renewLease: one attempt (runOnce); false when the lease is no longer this worker's. */
export async function renewLease(ctx: SqlContext, lease: Lease): Promise<boolean> {
  const n = await ctx.db.runOnce(`UPDATE runs SET heartbeat_at = ${ctx.NOW}, lease_expires_at = ${ctx.NOW_PLUS} WHERE run_id = ? AND lease_token = ? AND lease_owner = ?`,
    [lease.leaseSeconds, lease.runId, lease.token, lease.owner]);
  return n === 1;
}

/** ResultsStore.finishRun: final status and error, lease cleared. @throws LeaseLostError */
export function finishRun(ctx: SqlContext, lease: Lease, f: { status: Exclude<RunStatus, 'running'>; error?: string | null }): Promise<void> {
  return ctx.db.transaction((tx) => fenced(tx, lease, `status = ?, error = ?, finished_at = ${ctx.NOW}, lease_owner = NULL, lease_expires_at = NULL`, [f.status, f.error ?? null]));
}

/** ResultsStore.releaseRun: lease cleared, status stays running (resumable at once). @throws LeaseLostError */
export function releaseRun(ctx: SqlContext, lease: Lease): Promise<void> {
  return ctx.db.transaction((tx) => fenced(tx, lease, `lease_owner = NULL, lease_expires_at = NULL, heartbeat_at = ${ctx.NOW}`, []));
}

/** ResultsStore.failIfHeldBy: marks a running run failed if `owner` still holds it; whether it did. */
export async function failIfHeldBy(ctx: SqlContext, runId: string, owner: string, error: string): Promise<boolean> {
  const n = await ctx.db.run(`UPDATE runs SET status = 'failed', error = ?, finished_at = ${ctx.NOW}, lease_owner = NULL, lease_expires_at = NULL
    WHERE run_id = ? AND status = 'running' AND lease_owner = ?`, [error, runId, owner]);
  return n === 1;
}
