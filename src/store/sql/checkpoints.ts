/**
 * The latest checkpoint of each run (one row per run in `checkpoints`): written with an epoch,
 * checked (SHA-256) and matched against the run's epoch rows when a claim resumes, dropped when it
 * cannot be restored.
 */
import { checkpointHash } from '../../train/checkpoint';
import { emptySummary, summarizeEpochs, type EpochRecord } from '../../train/records';
import type { Lease, ResumePoint } from '../api';
import type { SqlExecutor } from './driver';
import { fenced } from './fence';
import { EPOCH_SELECT, num, summarySets, type Row, type SqlContext } from './rows';

/**
 * Decides what a claim resumes from, inside the claim's transaction: the run's checkpoint when its
 * hash matches its bytes and the epoch rows up to it are all there (else a note, and the run restarts
 * from epoch 1). Epoch rows after the resumed epoch, and a checkpoint not resumed from, are deleted;
 * the run's summary is recomputed from the epochs kept.
 * @param target the run's validation-accuracy target (null: none), for the recomputed summary
 * @param notes receives one line per checkpoint or epoch rows given up
 * @returns the resume point, or null to restart from epoch 1
 */
export async function resumePoint(tx: SqlExecutor, runId: string, target: number | null, notes: string[]): Promise<ResumePoint | null> {
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
}

/**
 * Writes (or replaces) a run's checkpoint as of one epoch, with its SHA-256 and size, inside the
 * epoch's transaction.
 * @param record the epoch the checkpoint was taken after (run id, epoch, iteration)
 * @param checkpoint the serialised training state (train/checkpoint.ts)
 */
export async function writeCheckpoint(ctx: SqlContext, tx: SqlExecutor, record: EpochRecord, checkpoint: Uint8Array): Promise<void> {
  await tx.run(`INSERT INTO checkpoints(run_id, epoch, iteration, sha256, size_bytes, state, written_at) VALUES (?, ?, ?, ?, ?, ?, ${ctx.NOW})
    ON CONFLICT (run_id) DO UPDATE SET epoch = excluded.epoch, iteration = excluded.iteration, sha256 = excluded.sha256,
    size_bytes = excluded.size_bytes, state = excluded.state, written_at = excluded.written_at`,
  [record.runId, record.epoch, record.iteration, checkpointHash(checkpoint), checkpoint.length, Buffer.from(checkpoint.buffer, checkpoint.byteOffset, checkpoint.length)]);
}

/**
 * Drops a held run's checkpoint and epoch rows (ResultsStore.discardCheckpoint): it restarts from epoch 1.
 * @throws LeaseLostError when the lease is no longer this worker's (nothing changed)
 */
export function discardCheckpoint(ctx: SqlContext, lease: Lease): Promise<void> {
  return ctx.db.transaction(async (tx) => {
    await fenced(tx, lease, `heartbeat_at = ${ctx.NOW}`, []);
    await tx.run('DELETE FROM checkpoints WHERE run_id = ?', [lease.runId]);
    await resumePoint(tx, lease.runId, null, []);
  });
}
