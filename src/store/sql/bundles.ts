/**
 * A run as one bundle (its row, epochs and checkpoint) out of one store and into another: the SQL
 * of copy-store (../copy.ts), idempotent on the receiving side.
 */
import { FINISHED_STATUSES } from '../../train/records';
import type { RunBundle } from '../api';
import { listEpochs } from './runs';
import { epochValues, UPSERT_EPOCH, type Row, type SqlContext } from './rows';

/** ResultsStore.exportRun: everything of one run, or null when the store has no such run. */
export async function exportRun(ctx: SqlContext, runId: string): Promise<RunBundle | null> {
  const run = (await ctx.db.all<Row>('SELECT * FROM runs WHERE run_id = ?', [runId]))[0];
  if (!run) return null;
  const epochs = await listEpochs(ctx, [runId]);
  const ck = (await ctx.db.all<Row>('SELECT * FROM checkpoints WHERE run_id = ?', [runId]))[0];
  return {
    run, epochs,
    checkpoint: ck ? { epoch: Number(ck.epoch), iteration: Number(ck.iteration), sha256: String(ck.sha256), state: new Uint8Array(ck.state as Uint8Array), writtenAt: String(ck.written_at) } : null,
  };
}

/**
 * ResultsStore.importRun: writes a copied run unless this store's copy is further (or as far with a
 * checkpoint the bundle lacks), held by a live lease, identical, or finished (replaced only with
 * `replaceFinished` by a finished source run).
 * @returns whether it was written
 */
export function importRun(ctx: SqlContext, b: RunBundle, options: { replaceFinished?: boolean } = {}): Promise<boolean> {
  return ctx.db.transaction(async (tx) => {
    const src = b.run;
    const mine = (await tx.all<Row>(`SELECT status, epochs_completed, lease_owner, attempts, CASE WHEN lease_expires_at IS NULL OR lease_expires_at < ${ctx.NOW} THEN 1 ELSE 0 END AS expired,
      (SELECT sha256 FROM checkpoints c WHERE c.run_id = runs.run_id) AS sha256 FROM runs WHERE run_id = ? ${ctx.db.forUpdate}`, [src.run_id]))[0];
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
    for (const e of b.epochs) await tx.run(UPSERT_EPOCH, epochValues(e));
    if (b.checkpoint) {
      const c = b.checkpoint;
      await tx.run('INSERT INTO checkpoints(run_id, epoch, iteration, sha256, size_bytes, state, written_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [src.run_id, c.epoch, c.iteration, c.sha256, c.state.length, Buffer.from(c.state), c.writtenAt]);
    }
    return true;
  });
}
