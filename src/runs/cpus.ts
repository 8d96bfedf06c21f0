/**
 * The CPUs this process may use, for `--threads auto` and the default number of workers: not the
 * machine's cores but the fewest of its CPU affinity (sched_getaffinity, read from /proc/self/status
 * `Cpus_allowed_list`: taskset, Slurm's and Kubernetes' cpusets), its cgroup's CPU quota (v2 `cpu.max`,
 * v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`, rounded up) and Slurm's `SLURM_CPUS_PER_TASK`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** How many CPUs, and what limited them (for the log line). */
export interface CpuBudget {
  count: number;
  /** e.g. 'affinity 0-3', 'cgroup quota 2', 'SLURM_CPUS_PER_TASK=4', or 'cores'. */
  limitedBy: string;
}

/**
 * Number of CPUs in a Linux CPU list ("0-3,8,10-11" -> 7).
 * @returns null when the text is not a CPU list
 */
export function countCpuList(text: string): number | null {
  let n = 0;
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return null;
    const [lo, hi] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (hi < lo) return null;
    n += hi - lo + 1;
  }
  return n > 0 ? n : null;
}

/**
 * CPUs of a cgroup quota: v2 `cpu.max` ("max 100000" -> null, "150000 100000" -> 2) or v1 quota and
 * period in microseconds (-1 -> null); rounded up, at least 1.
 */
export function quotaCpus(quota: string, period?: string): number | null {
  const [q, p] = period === undefined ? quota.trim().split(/\s+/) : [quota.trim(), period.trim()];
  const [qn, pn] = [Number(q), Number(p)];
  if (q === 'max' || !Number.isFinite(qn) || qn <= 0 || !Number.isFinite(pn) || pn <= 0) return null;
  return Math.max(1, Math.ceil(qn / pn));
}

const read = (file: string) => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};

/** The smallest CPU quota of this process's cgroup and its parents (v2, else v1), or null. */
function cgroupCpus(): number | null {
  const lines = read('/proc/self/cgroup')?.split('\n') ?? [];
  let best: number | null = null;
  const take = (n: number | null) => { if (n !== null && (best === null || n < best)) best = n; };
  const walk = (root: string, rel: string, each: (dir: string) => void) => {
    for (let dir = path.join(root, rel); dir.startsWith(root); dir = path.dirname(dir)) {
      each(dir);
      if (dir === root) break;
    }
  };
  const v2 = lines.find((l) => l.startsWith('0::'));
  if (v2) walk('/sys/fs/cgroup', v2.slice(3), (d) => { const t = read(path.join(d, 'cpu.max')); if (t) take(quotaCpus(t)); });
  const v1 = lines.find((l) => /^\d+:[^:]*\bcpu\b[^:]*:/.test(l));
  if (v1) {
    const rel = v1.split(':').slice(2).join(':');
    for (const mount of ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) {
      walk(mount, rel, (d) => {
        const [q, p] = [read(path.join(d, 'cpu.cfs_quota_us')), read(path.join(d, 'cpu.cfs_period_us'))];
        if (q && p) take(quotaCpus(q, p));
      });
    }
  }
  return best;
}

/**
 * The CPUs this process may use (see the module comment), at least 1.
 * @param env the environment to read SLURM_CPUS_PER_TASK from (default process.env)
 */
export function availableCpus(env: NodeJS.ProcessEnv = process.env): CpuBudget {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  // the affinity first: it names what Node's availableParallelism (libuv) counts as well
  const allowed = /^Cpus_allowed_list:\s*(.+)$/m.exec(read('/proc/self/status') ?? '')?.[1];
  const affinity = allowed ? countCpuList(allowed) : null;
  const candidates: CpuBudget[] = affinity !== null ? [{ count: affinity, limitedBy: `CPU affinity ${allowed!.trim()}` }] : [];
  candidates.push({ count: cores, limitedBy: 'cores' });
  const quota = cgroupCpus();
  if (quota !== null) candidates.push({ count: quota, limitedBy: `cgroup CPU quota ${quota}` });
  const slurm = env.SLURM_CPUS_PER_TASK;
  if (slurm && /^\d+$/.test(slurm) && Number(slurm) > 0) candidates.push({ count: Number(slurm), limitedBy: `SLURM_CPUS_PER_TASK=${slurm}` });
  return candidates.reduce((a, b) => (b.count < a.count ? b : a));
}
