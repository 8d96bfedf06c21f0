/**
 * Keeps a run's lease alive while it trains: renews it every `heartbeatSeconds` and tells the
 * training loop to stop when the lease is gone (taken over by another worker) or when renewals have
 * failed for `leaseSeconds` (this worker is cut off from the store: by then another worker may own
 * the run, so training on is wasted work, and the fenced writes would be refused anyway). A process
 * that was merely busy (a long step) is not cut off: its next renewal decides.
 */
import type { Lease, ResultsStore } from '../store';

export interface LeaseKeeper {
  /** Why the lease is lost, or null while it holds. */
  lost(): string | null;
  /** Stops renewing; results of a renewal in flight are ignored. */
  stop(): void;
}

/**
 * Starts renewing a lease.
 * @param heartbeatSeconds seconds between renewals (> 0)
 * @param log one line when renewals start failing, when they work again, and when the lease is lost
 */
export function keepLease(store: ResultsStore, lease: Lease, heartbeatSeconds: number, log: (line: string) => void): LeaseKeeper {
  let lastRenewed = Date.now();
  let lostReason: string | null = null;
  let inFlight = false;
  let failing = false;
  let stopped = false;
  const cutOff = () => {
    if (!lostReason && failing && Date.now() - lastRenewed > lease.leaseSeconds * 1000) {
      lostReason = `the lease could not be renewed for ${lease.leaseSeconds} s (results store ${store.location} unreachable)`;
      log(`${lease.runId}: ${lostReason}; stopping this run`);
    }
  };
  const timer = setInterval(() => {
    cutOff();
    if (lostReason || inFlight) return;
    inFlight = true;
    store.renewLease(lease).then((held) => {
      if (stopped) return;
      if (held) {
        lastRenewed = Date.now();
        if (failing) log(`${lease.runId}: lease renewed again`);
        failing = false;
      } else if (!lostReason) {
        lostReason = 'another worker took the run over';
        log(`${lease.runId}: lease lost (${lostReason}); stopping this run`);
      }
    }, (e: Error) => {
      if (stopped) return;
      if (!failing) log(`${lease.runId}: cannot renew the lease (${e.message}); retrying every ${heartbeatSeconds} s`);
      failing = true;
      cutOff();
    }).finally(() => {
      inFlight = false;
    });
  }, Math.max(50, heartbeatSeconds * 1000));
  return {
    lost: () => {
      cutOff();
      return lostReason;
    },
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
