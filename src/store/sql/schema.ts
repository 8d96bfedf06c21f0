/**
 * The results store's schema, one definition for SQLite and PostgreSQL (the same tables, columns and
 * version; only column types differ: PostgreSQL's REAL is single precision, so doubles are DOUBLE
 * PRECISION there, and blobs are BYTEA). Timestamps are ISO-8601 UTC text from the database's own
 * clock, so leases compare one clock however many hosts write.
 *
 * Version history: 1 = runs, epochs, meta; 2 = + leases (lease_owner, lease_token, heartbeat_at,
 * lease_expires_at), checkpoints (latest per run), planned_runs (each protocol's expansion);
 * 3 = + epochs.train_cpu_seconds and epochs.total_cpu_seconds (CPU seconds of the training process,
 * NULL in epochs written before).
 */

/** Schema version written by this code; a newer store is refused. */
export const SCHEMA_VERSION = 3;
/** Marker of a results store in its meta table (with schema_version). */
export const STORE_APPLICATION = 'resnet-sgdr-workspace';
/** Adds the marker to a store of ours that lacks it (written by every opening writer; idempotent). */
export const MARK_STATEMENT = `INSERT INTO meta(key, value) VALUES ('application', '${STORE_APPLICATION}') ON CONFLICT (key) DO NOTHING`;

export type Dialect = 'sqlite' | 'postgres';

/** Columns a schema-1 store (written before the application marker) has in runs and in epochs. */
const V1_RUNS = ['run_id', 'protocol', 'arm', 'seed', 'config_json', 'config_hash', 'status', 'epochs_completed', 'started_at'];
const V1_EPOCHS = ['run_id', 'epoch', 'iteration', 'learning_rate', 'train_seconds', 'total_seconds'];

/**
 * Why a database with a meta table is not a results store, or null when it is one: its meta table's
 * `application` says so; a store without the marker (schema 1 wrote none, and a migration from it
 * added none before issue 20) is one only when its runs and epochs tables have the store's columns. Another program's meta table (any
 * schema_version, any runs table) is foreign and must be left untouched.
 * @param meta schema_version (NaN when absent or not a number) and application (null when absent) of the meta table
 * @param columns column names of its runs and epochs tables (empty when a table is missing)
 */
export function notOurs(meta: { version: number; application: string | null }, columns: { runs: string[]; epochs: string[] }): string | null {
  const shown = `schema_version ${Number.isNaN(meta.version) ? 'absent' : meta.version}, application ${meta.application === null ? 'absent' : `"${meta.application}"`}`;
  if (!Number.isInteger(meta.version) || meta.version < 1) return `its meta table has no schema version (${shown})`;
  if (meta.application === STORE_APPLICATION) return null;
  if (meta.application !== null) return `its meta table belongs to another application (${shown})`;
  const missing = [...V1_RUNS.filter((c) => !columns.runs.includes(c)).map((c) => `runs.${c}`), ...V1_EPOCHS.filter((c) => !columns.epochs.includes(c)).map((c) => `epochs.${c}`)];
  if (meta.version > SCHEMA_VERSION) return `its meta table lacks this workspace's application marker (${shown})`;
  if (missing.length) return `its meta table lacks this workspace's application marker (${shown}) and its tables lack ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}`;
  return null;
}

function types(d: Dialect) {
  return d === 'postgres' ? { real: 'DOUBLE PRECISION', blob: 'BYTEA' } : { real: 'REAL', blob: 'BLOB' };
}

const LEASE_COLUMNS = [
  ['lease_owner', 'TEXT'],
  ['lease_token', 'INTEGER NOT NULL DEFAULT 0'],
  ['heartbeat_at', 'TEXT'],
  ['lease_expires_at', 'TEXT'],
] as const;

function newTables(d: Dialect): string[] {
  const { blob } = types(d);
  return [
    `CREATE TABLE IF NOT EXISTS checkpoints (
      run_id TEXT PRIMARY KEY REFERENCES runs(run_id) ON DELETE CASCADE,
      epoch INTEGER NOT NULL,
      iteration INTEGER NOT NULL,
      sha256 TEXT NOT NULL,
      size_bytes INTEGER NOT NULL,
      state ${blob} NOT NULL,
      written_at TEXT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS planned_runs (
      run_id TEXT PRIMARY KEY,
      protocol TEXT NOT NULL,
      arm TEXT NOT NULL,
      seed INTEGER NOT NULL,
      position INTEGER NOT NULL,
      config_json TEXT NOT NULL,
      planned_at TEXT NOT NULL)`,
    'CREATE INDEX IF NOT EXISTS planned_protocol ON planned_runs(protocol, position)',
  ];
}

/** Statements creating a store of the current version from nothing. */
export function createStatements(d: Dialect): string[] {
  const { real } = types(d);
  return [
    'CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
    `CREATE TABLE IF NOT EXISTS runs (
      run_id TEXT PRIMARY KEY,
      protocol TEXT NOT NULL,
      arm TEXT NOT NULL,
      seed INTEGER NOT NULL,
      config_json TEXT NOT NULL,
      config_hash TEXT NOT NULL,
      backend TEXT,
      versions_json TEXT,
      code_version TEXT,
      status TEXT NOT NULL,
      target ${real},
      epochs_to_target INTEGER,
      iterations_to_target INTEGER,
      seconds_to_target ${real},
      epochs_completed INTEGER NOT NULL DEFAULT 0,
      final_test_accuracy ${real},
      best_validation_accuracy ${real},
      test_accuracy_at_best_validation ${real},
      error TEXT,
      attempts INTEGER NOT NULL DEFAULT 0,
      host TEXT,
      pid INTEGER,
      started_at TEXT NOT NULL,
      finished_at TEXT,
      ${LEASE_COLUMNS.map(([n, t]) => `${n} ${t}`).join(',\n      ')})`,
    `CREATE TABLE IF NOT EXISTS epochs (
      run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
      epoch INTEGER NOT NULL,
      iteration INTEGER NOT NULL,
      learning_rate ${real} NOT NULL,
      train_loss ${real}, train_accuracy ${real},
      validation_loss ${real}, validation_accuracy ${real},
      test_loss ${real}, test_accuracy ${real},
      train_seconds ${real} NOT NULL,
      total_seconds ${real} NOT NULL,
      train_cpu_seconds ${real},
      total_cpu_seconds ${real},
      PRIMARY KEY (run_id, epoch))`,
    'CREATE INDEX IF NOT EXISTS runs_protocol ON runs(protocol, arm)',
    ...newTables(d),
  ];
}

/** Statements taking a store of `from` (>= 1) to SCHEMA_VERSION. */
export function migrationStatements(d: Dialect, from: number): string[] {
  const out: string[] = [];
  if (from < 2) {
    out.push(...LEASE_COLUMNS.map(([n, t]) => `ALTER TABLE runs ADD COLUMN ${n} ${t}`), ...newTables(d));
  }
  if (from < 3) {
    const { real } = types(d);
    out.push(`ALTER TABLE epochs ADD COLUMN train_cpu_seconds ${real}`, `ALTER TABLE epochs ADD COLUMN total_cpu_seconds ${real}`);
  }
  return out;
}

/** SQL expression of the database's current time as ISO-8601 UTC text (millisecond precision). */
export function nowSql(d: Dialect): string {
  return d === 'postgres'
    ? `to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
    : `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;
}

/** SQL expression of now + `param` seconds (a placeholder), as ISO-8601 UTC text. */
export function nowPlusSql(d: Dialect, param: string): string {
  return d === 'postgres'
    ? `to_char((clock_timestamp() + make_interval(secs => ${param}::double precision)) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
    : `strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+' || ${param} || ' seconds')`;
}
