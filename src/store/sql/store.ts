/**
 * The results store over SQL: ResultsStore's operations, each implemented once for SQLite and
 * PostgreSQL by the module of its concern (runs.ts: runs and epochs; leases.ts: claims and leases;
 * checkpoints.ts; bundles.ts: copy-store), over one driver (sqlite.ts, postgres.ts) and schema
 * (schema.ts). Nothing outside src/store sees SQL.
 */
import type { ResultsStore } from '../api';
import { exportRun, importRun } from './bundles';
import { discardCheckpoint } from './checkpoints';
import type { SqlDriver } from './driver';
import { claimRun, failIfHeldBy, finishRun, releaseRun, renewLease } from './leases';
import { sqlContext } from './rows';
import { getRun, listEpochs, listPlanned, listProtocols, listRuns, now, planRuns, recordEpoch } from './runs';

/** The ResultsStore of an opened driver (closing the store closes the driver). */
export function sqlStore(db: SqlDriver): ResultsStore {
  const ctx = sqlContext(db);
  return {
    location: ctx.loc,
    kind: db.dialect,
    created: db.created,
    getRun: (runId) => getRun(ctx, runId),
    listRuns: (filter) => listRuns(ctx, filter),
    listEpochs: (runIds) => listEpochs(ctx, runIds),
    listProtocols: () => listProtocols(ctx),
    planRuns: (runs) => planRuns(ctx, runs),
    listPlanned: (protocol) => listPlanned(ctx, protocol),
    now: () => now(ctx),
    claimRun: (start, worker, options) => claimRun(ctx, start, worker, options),
    renewLease: (lease) => renewLease(ctx, lease),
    recordEpoch: (lease, record, summary, checkpoint) => recordEpoch(ctx, lease, record, summary, checkpoint),
    finishRun: (lease, finish) => finishRun(ctx, lease, finish),
    releaseRun: (lease) => releaseRun(ctx, lease),
    discardCheckpoint: (lease) => discardCheckpoint(ctx, lease),
    failIfHeldBy: (runId, owner, error) => failIfHeldBy(ctx, runId, owner, error),
    exportRun: (runId) => exportRun(ctx, runId),
    importRun: (bundle, options) => importRun(ctx, bundle, options),
    close: () => db.close(),
  };
}
