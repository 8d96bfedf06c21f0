/**
 * Runs and their epochs: reading runs (with lease and checkpoint state), epoch rows, protocols and
 * planned runs, and writing one finished epoch with the run's summary (and checkpoint) under its lease.
 */
import type { EpochRecord, RunSummary } from '../../train/records';
import type { Lease, PlannedRun, StoredRun } from '../api';
import type { RunStatus } from '../types';
import { writeCheckpoint } from './checkpoints';
import { fenced } from './fence';
import { EPOCH_SELECT, epochValues, parse, summarySets, toStoredRun, UPSERT_EPOCH, type Row, type SqlContext } from './rows';

/** Test-only fault hook: WS_FAULT=kill-in-epoch-write:N SIGKILLs inside epoch N's transaction (tests). */
const killAtEpoch = () => /^kill-in-epoch-write:(\d+)$/.exec(process.env.WS_FAULT ?? '')?.[1];

/** ResultsStore.getRun: one run, or null. */
export async function getRun(ctx: SqlContext, runId: string): Promise<StoredRun | null> {
  const r = (await ctx.db.all<Row>(`${ctx.runSelect} WHERE run_id = ?`, [runId]))[0];
  return r ? toStoredRun(ctx.loc, r) : null;
}

/** ResultsStore.listRuns: runs matching every given field, ordered by protocol, arm, seed, run id. */
export async function listRuns(ctx: SqlContext, filter: { protocol?: string; arm?: string; status?: RunStatus } = {}): Promise<StoredRun[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  for (const [k, col] of [['protocol', 'protocol'], ['arm', 'arm'], ['status', 'status']] as const) {
    if (filter[k]) {
      where.push(`${col} = ?`);
      params.push(filter[k]);
    }
  }
  const rows = await ctx.db.all<Row>(`${ctx.runSelect} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY protocol, arm, seed, run_id`, params);
  return rows.map((r) => toStoredRun(ctx.loc, r));
}

/** ResultsStore.listEpochs: epoch rows of the given runs (all when undefined), by run and epoch. */
export async function listEpochs(ctx: SqlContext, runIds?: string[]): Promise<EpochRecord[]> {
  const fix = (rows: EpochRecord[]) => rows.map((r) => ({ ...r, epoch: Number(r.epoch), iteration: Number(r.iteration) }));
  if (!runIds) return fix(await ctx.db.all<EpochRecord>(`SELECT ${EPOCH_SELECT} FROM epochs ORDER BY run_id, epoch`));
  const out: EpochRecord[] = [];
  for (const id of runIds) out.push(...fix(await ctx.db.all<EpochRecord>(`SELECT ${EPOCH_SELECT} FROM epochs WHERE run_id = ? ORDER BY epoch`, [id])));
  return out;
}

/** ResultsStore.listProtocols: names of protocols with runs or planned runs, sorted. */
export async function listProtocols(ctx: SqlContext): Promise<string[]> {
  const rows = await ctx.db.all<{ protocol: string }>('SELECT protocol FROM runs UNION SELECT protocol FROM planned_runs ORDER BY protocol');
  return rows.map((r) => r.protocol);
}

/** ResultsStore.planRuns: records a protocol's expansion (runs already planned are kept). */
export async function planRuns(ctx: SqlContext, runs: PlannedRun[]): Promise<void> {
  if (runs.length === 0) return;
  await ctx.db.transaction(async (tx) => {
    for (const r of runs) {
      await tx.run(`INSERT INTO planned_runs(run_id, protocol, arm, seed, position, config_json, planned_at) VALUES (?, ?, ?, ?, ?, ?, ${ctx.NOW})
        ON CONFLICT (run_id) DO NOTHING`, [r.runId, r.protocol, r.arm, r.seed, r.position, JSON.stringify(r.config)]);
    }
  });
}

/** ResultsStore.listPlanned: planned runs (of one protocol when given), by protocol and position. */
export async function listPlanned(ctx: SqlContext, protocol?: string): Promise<PlannedRun[]> {
  const rows = await ctx.db.all<Row>(`SELECT * FROM planned_runs ${protocol ? 'WHERE protocol = ?' : ''} ORDER BY protocol, position`, protocol ? [protocol] : []);
  return rows.map((r) => ({ runId: String(r.run_id), protocol: String(r.protocol), arm: String(r.arm), seed: Number(r.seed), position: Number(r.position), config: parse(ctx.loc, r.run_id, 'config_json', r.config_json) }));
}

/** ResultsStore.now: the database's clock, ISO-8601 UTC. */
export async function now(ctx: SqlContext): Promise<string> {
  return (await ctx.db.all<{ now: string }>(`SELECT ${ctx.NOW} AS now`))[0].now;
}

/**
 * ResultsStore.recordEpoch: the epoch row, the run's summary and (when given) its checkpoint in one
 * transaction, renewing the lease.
 * @throws LeaseLostError when the lease is no longer this worker's (nothing written)
 */
export function recordEpoch(ctx: SqlContext, lease: Lease, record: EpochRecord, summary: Partial<RunSummary>, checkpoint: Uint8Array | null): Promise<void> {
  return ctx.db.transaction(async (tx) => {
    const s = summarySets(summary);
    await fenced(tx, lease, [...s.cols, `heartbeat_at = ${ctx.NOW}`, `lease_expires_at = ${ctx.NOW_PLUS}`].join(', '), [...s.vals, lease.leaseSeconds]);
    await tx.run(UPSERT_EPOCH, epochValues(record));
    if (checkpoint) await writeCheckpoint(ctx, tx, record, checkpoint);
    if (killAtEpoch() !== undefined && record.epoch === Number(killAtEpoch())) process.kill(process.pid, 'SIGKILL');
  });
}
