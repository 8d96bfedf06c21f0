/**
 * `status`: where each protocol of a store stands, per arm: finished, running (which worker, last
 * heartbeat, epoch), waiting (planned, not started), failed, released (stopped with its lease given back,
 * resumable from its last checkpoint: which seed, after how many epochs); a running run
 * whose lease has expired, or whose process on this host is gone, is marked stale (another worker
 * will take it over).
 */
import { workerIdentity, type StoredRun } from './api';
import { openResultsStore } from './open';
import { processAlive } from './process';

export interface ArmStatus {
  protocol: string;
  arm: string;
  finished: number;
  /** processGone: its worker was on this host and its process has exited (killed): the next claim here takes it over at once. */
  running: (StoredRun & { processGone: boolean })[];
  waiting: number;
  failed: number;
  /** Runs stopped with their lease given back (interrupted, --max-runs, a Slurm requeue): the next claim resumes them. */
  released: StoredRun[];
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
    // one line per protocol, arm and configuration (run ids end in the configuration's hash); arms in
    // the order of the protocol's expansion; a configuration hash is shown only where an arm has several
    const hash = (runId: string) => runId.slice(runId.lastIndexOf('/') + 1);
    const position = new Map(planned.map((p) => [`${p.protocol}\u0000${p.arm}`, p.position]));
    const hashes = new Map<string, Set<string>>();
    for (const r of [...planned, ...runs]) {
      const k = `${r.protocol}\u0000${r.arm}`;
      if (!hashes.has(k)) hashes.set(k, new Set());
      hashes.get(k)!.add(hash(r.runId));
    }
    const arms = new Map<string, ArmStatus>();
    const arm = (protocol: string, name: string, runId: string) => {
      const several = (hashes.get(`${protocol}\u0000${name}`)?.size ?? 1) > 1;
      const label = several ? `${name} [configuration ${hash(runId)}]` : name;
      const key = `${protocol}\u0000${label}`;
      if (!arms.has(key)) arms.set(key, { protocol, arm: label, finished: 0, running: [], waiting: 0, failed: 0, released: [] });
      return arms.get(key)!;
    };
    for (const p of planned) if (!byId.has(p.runId)) arm(p.protocol, p.arm, p.runId).waiting++;
    for (const r of runs) {
      const a = arm(r.protocol, r.arm, r.runId);
      if (r.status === 'failed') a.failed++;
      else if (r.status === 'running') {
        if (r.leaseOwner) a.running.push({ ...r, processGone: r.host === workerIdentity().host && !processAlive(r.pid) });
        else a.released.push(r);
      } else a.finished++;
    }
    const order = (a: ArmStatus) => position.get(`${a.protocol}\u0000${a.arm.replace(/ \[configuration .*\]$/, '')}`) ?? Infinity;
    const sorted = [...arms.values()].sort((x, y) => x.protocol.localeCompare(y.protocol) || order(x) - order(y) || x.arm.localeCompare(y.arm));
    return { location: store.location, now, arms: sorted };
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
    const released = a.released.length ? `, ${a.released.length} released (resumable: ${a.released.map((r) => `seed ${r.seed} after ${r.epochsCompleted} epoch${r.epochsCompleted === 1 ? '' : 's'}`).join(', ')})` : '';
    out.push(`  ${a.arm}: ${a.finished} finished, ${a.running.length} running, ${a.waiting} waiting, ${a.failed} failed${released}`);
    for (const r of a.running) {
      const age = r.heartbeatAt ? `${((Date.parse(s.now) - Date.parse(r.heartbeatAt)) / 1000).toFixed(0)} s ago` : 'never';
      out.push(`    seed ${r.seed}: ${r.epochsCompleted} epoch${r.epochsCompleted === 1 ? '' : 's'} finished, worker ${r.leaseOwner}, last heartbeat ${age}${r.leaseExpired ? ' STALE (lease expired: another worker will take it over)'
        : r.processGone ? ' STALE (its process on this host is gone: the next experiment here resumes it at once)' : ''}`);
    }
  }
  return out.join('\n');
}
