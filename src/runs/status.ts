/**
 * `status`: where each protocol of a store stands, per arm: finished, running (which worker, last
 * heartbeat, epoch), waiting (planned, not started, or released resumable), failed; a running run
 * whose lease has expired is marked stale (another worker will take it over).
 */
import { openResultsStore, type StoredRun } from './store';

export interface ArmStatus {
  protocol: string;
  arm: string;
  finished: number;
  running: StoredRun[];
  waiting: number;
  failed: number;
}

/**
 * Per protocol and arm, in the order of the protocol's expansion.
 * @param location results store (read-only)
 * @returns arms and the store's clock
 */
export async function storeStatus(location: string): Promise<{ location: string; now: string; arms: ArmStatus[] }> {
  const store = await openResultsStore(location, { readonly: true });
  try {
    const [runs, planned, now] = [await store.listRuns(), await store.listPlanned(), await store.now()];
    const byId = new Map(runs.map((r) => [r.runId, r]));
    const arms = new Map<string, ArmStatus>();
    const arm = (protocol: string, name: string) => {
      const key = `${protocol}\u0000${name}`;
      if (!arms.has(key)) arms.set(key, { protocol, arm: name, finished: 0, running: [], waiting: 0, failed: 0 });
      return arms.get(key)!;
    };
    for (const p of planned) if (!byId.has(p.runId)) arm(p.protocol, p.arm).waiting++;
    for (const r of runs) {
      const a = arm(r.protocol, r.arm);
      if (r.status === 'failed') a.failed++;
      else if (r.status === 'running') {
        if (r.leaseOwner) a.running.push(r);
        else a.waiting++;
      } else a.finished++;
    }
    return { location: store.location, now, arms: [...arms.values()] };
  } finally {
    await store.close();
  }
}

/** The status as text lines (the CLI's `status`). */
export function statusText(s: { location: string; now: string; arms: ArmStatus[] }): string {
  const out = [`results store ${s.location} (clock ${s.now})`];
  if (s.arms.length === 0) out.push('no runs yet');
  let protocol = '';
  for (const a of s.arms) {
    if (a.protocol !== protocol) out.push(`protocol ${(protocol = a.protocol)}`);
    out.push(`  ${a.arm}: ${a.finished} finished, ${a.running.length} running, ${a.waiting} waiting, ${a.failed} failed`);
    for (const r of a.running) {
      const age = r.heartbeatAt ? `${((Date.parse(s.now) - Date.parse(r.heartbeatAt)) / 1000).toFixed(0)} s ago` : 'never';
      out.push(`    seed ${r.seed}: epoch ${r.epochsCompleted}, worker ${r.leaseOwner}, last heartbeat ${age}${r.leaseExpired ? ' STALE (lease expired: another worker will take it over)' : ''}`);
    }
  }
  return out.join('\n');
}
