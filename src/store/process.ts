import * as fs from 'node:fs';

/**
 * Whether a process id belongs to a live (non-zombie) process on this host.
 * kill(pid, 0) also succeeds on a zombie: a worker orphaned by a killed parent that has exited but is
 * not reaped (e.g. under a container's init) would otherwise keep its run "being trained" forever.
 */
export function processAlive(pid: number | null | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (!fs.existsSync('/proc/self/stat')) return true;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}
