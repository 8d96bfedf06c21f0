/**
 * The fence of every write under a lease: an UPDATE of the run's row that matches only while the
 * lease's token and owner are still the run's (a worker that lost its lease never writes over the
 * worker that took the run over).
 */
import { LeaseLostError, type Lease } from '../api';
import type { SqlExecutor } from './driver';

/**
 * Applies `sets` to the leased run's row, fenced by the lease's token and owner.
 * @param sets `column = ?, ...` assignments; `params` are their values
 * @throws LeaseLostError when no row matched (the lease is no longer this worker's)
 */
export async function fenced(tx: SqlExecutor, lease: Lease, sets: string, params: unknown[]): Promise<void> {
  const n = await tx.run(`UPDATE runs SET ${sets} WHERE run_id = ? AND lease_token = ? AND lease_owner = ?`, [...params, lease.runId, lease.token, lease.owner]);
  if (n !== 1) throw new LeaseLostError(lease.runId);
}
