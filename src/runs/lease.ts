/**
 * Keeps a run's lease alive while it trains: renews it every `heartbeatSeconds` and tells the
 * training loop to stop when the lease is gone (taken over by another worker) or could not be
 * renewed for `leaseSeconds` (this worker is cut off from the store: by then another worker may own
 * the run, so training on is wasted work, and the fenced writes would be refused anyway).
 */
import type { Lease, ResultsStore } from './store';

export interface LeaseKeeper {
  /** Why the lease is lost, or null while it holds. */
  lost(): string | null;
  stop(): void;
}

/**
 * Starts renewing a lease.
 * @param heartbeatSeconds seconds between renewals (> 0)
 * @param log one line when a renewal fails (once per outage) and when the lease is lost
 */
export function keepLease(store: ResultsStore, lease: Lease, heartbeatSeconds: number, log: (line: string) => void): LeaseKeeper {
  let lastRenewed = Date.now();
  let lostReason: string | null = null;
  let inFlight = false;
  let failing = false;
  const timer = setInterval(() => {
    if (lostReason) return;
    if (Date.now() - lastRenewed > lease.leaseSeconds * 1000) {
      lostReason = `the lease could not be renewed for ${lease.leaseSeconds} s (results store ${store.location} unreachable)`;
      log(`${lease.runId}: ${lostReason}; stopping this run`);
      return;
    }
    if (inFlight) return;
    inFlight = true;
    store.renewLease(lease).then((held) => {
      if (held) {
        lastRenewed = Date.now();
        if (failing) log(`${lease.runId}: lease renewed again`);
        failing = false;
      } else if (!lostReason) {
        lostReason = 'another worker took the run over';
        log(`${lease.runId}: lease lost (${lostReason}); stopping this run`);
      }
    }, (e: Error) => {
      if (!failing) log(`${lease.runId}: cannot renew the lease (${e.message}); retrying`);
      failing = true;
    }).finally(() => {
      inFlight = false;
    });
  }, Math.max(50, heartbeatSeconds * 1000));
  return {
    lost: () => {
      if (!lostReason && Date.now() - lastRenewed > lease.leaseSeconds * 1000 + heartbeatSeconds * 1000) {
        lostReason = `the lease could not be renewed for ${lease.leaseSeconds} s (results store ${store.location} unreachable)`;
      }
      return lostReason;
    },
    stop: () => clearInterval(timer),
  };
}
