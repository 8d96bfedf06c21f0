/**
 * PostgreSQL behind the results store (the `pg` driver; libpq's PGHOST, PGUSER, PGPASSWORD, ...
 * apply as usual): the shared store and coordinator of workers on any number of hosts, as Optuna's
 * RDB storage and MLflow's tracking server use it.
 *
 * A lost connection (database restarted, network blip) is retried with exponential backoff (0.25 s
 * doubling to 8 s, for up to `retrySeconds`), saying so once per outage and once on recovery;
 * transactions are retried whole, and every write the store makes is idempotent or fenced, so a
 * retry never writes an epoch twice. Opening is not retried: a wrong password, an unreachable host or
 * a newer schema is one error naming the host and database.
 */
import { Pool, type PoolClient } from 'pg';
import { createStatements, MARK_STATEMENT, migrationStatements, notOurs, SCHEMA_VERSION, STORE_APPLICATION } from './schema';
import { redactLocation, StoreError, type SqlDriver, type SqlExecutor } from './driver';

export interface PostgresOptions {
  readonly?: boolean;
  /** Give up retrying a lost connection after this long (default 600 s). */
  retrySeconds?: number;
  /** Where outage lines go (default console.error). */
  log?: (line: string) => void;
}

/** Connection-level failures worth retrying (class 08, admin shutdown, starting up, socket errors). */
export function isTransient(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  const code = err?.code ?? '';
  if (/^08/.test(code) || ['57P01', '57P02', '57P03', '53300', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'].includes(code)) return true;
  return /Connection terminated|connection timeout|Query read timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(err?.message ?? '');
}

const numbered = (sql: string) => {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
};

function executor(client: { query: Pool['query'] | PoolClient['query'] }): SqlExecutor {
  const q = client.query.bind(client) as (sql: string, params: unknown[]) => Promise<{ rows: unknown[]; rowCount: number | null }>;
  return {
    all: async <T>(sql: string, params: unknown[] = []) => (await q(numbered(sql), params)).rows as T[],
    run: async (sql: string, params: unknown[] = []) => (await q(numbered(sql), params)).rowCount ?? 0,
  };
}

/** Why the meta table in this database is not a results store's (see notOurs), or null when it is. */
async function foreignMeta(client: PoolClient): Promise<string | null> {
  let meta: Record<string, string>;
  try {
    meta = Object.fromEntries((await client.query('SELECT key, value FROM meta')).rows.map((r: { key: string; value: string }) => [String(r.key), String(r.value)]));
  } catch {
    return 'a meta table of another shape'; // rolled back whole by the caller
  }
  const columns = await client.query("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name IN ('runs', 'epochs')");
  const of = (t: string) => columns.rows.filter((r: { table_name: string }) => r.table_name === t).map((r: { column_name: string }) => r.column_name);
  const v = meta.schema_version;
  return notOurs({ version: v !== undefined && /^\d+$/.test(v) ? Number(v) : NaN, application: meta.application ?? null }, { runs: of('runs'), epochs: of('epochs') });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Opens (creating or migrating under an advisory lock) a PostgreSQL results store.
 * @param url postgres:// or postgresql:// URL
 * @throws StoreError naming host and database (no password): unreachable, authentication failed, no
 *   such database, tables of another program, a newer schema, or (readonly) no store there yet
 */
export async function openPostgres(url: string, options: PostgresOptions = {}): Promise<SqlDriver> {
  const location = redactLocation(url);
  const log = options.log ?? ((l: string) => console.error(l));
  const retryMs = (options.retrySeconds ?? 600) * 1000;
  const pool = new Pool({
    // connections stay open (heartbeats reuse them; a busy training process may take many seconds to
    // complete a new connection's handshake), and a connection attempt may take 30 s
    connectionString: url, max: 3, connectionTimeoutMillis: 30000, query_timeout: 60000, keepAlive: true,
    application_name: STORE_APPLICATION, idleTimeoutMillis: 0,
    ...(options.readonly ? { options: '-c default_transaction_read_only=on' } : {}),
  });
  pool.on('error', () => undefined); // an idle connection dropped (server restart): the next query reconnects
  let created = false;
  try {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      if (!options.readonly) await client.query('SELECT pg_advisory_xact_lock(727123019)');
      const { rows } = await client.query("SELECT to_regclass('meta') IS NOT NULL AS meta, to_regclass('runs') IS NOT NULL AS runs, to_regclass('epochs') IS NOT NULL AS epochs");
      const t = rows[0] as { meta: boolean; runs: boolean; epochs: boolean };
      const names = Object.entries(t).filter(([, present]) => present).map(([name]) => name).join(', ');
      let version = 0;
      if (t.meta) {
        const why = await foreignMeta(client);
        if (why) throw new StoreError(location, `has tables named ${names} that are not a results store (${why}); refusing to touch them, use another database`);
        version = Number((await client.query("SELECT value FROM meta WHERE key = 'schema_version'")).rows[0].value);
      } else if (t.runs || t.epochs) {
        throw new StoreError(location, `has tables named ${names} that are not a results store (no schema marker); refusing to touch them, use another database`);
      }
      if (version > SCHEMA_VERSION) throw new StoreError(location, `schema version ${version} is newer than this code's ${SCHEMA_VERSION}; update the workspace (git pull) to use it`);
      if (options.readonly) {
        if (version === 0) throw new StoreError(location, 'holds no results store yet (run an experiment with this --results first)');
        if (version < SCHEMA_VERSION) throw new StoreError(location, `schema version ${version} is older than this code's ${SCHEMA_VERSION}; run a writing command on it once (e.g. experiment) to upgrade it`);
      } else if (version === 0) {
        for (const s of createStatements('postgres')) await client.query(s);
        await client.query('INSERT INTO meta(key, value) VALUES ($1, $2), ($3, $4)', ['schema_version', String(SCHEMA_VERSION), 'application', STORE_APPLICATION]);
        created = true;
      } else if (version < SCHEMA_VERSION) {
        for (const s of migrationStatements('postgres', version)) await client.query(s);
        await client.query("UPDATE meta SET value = $1 WHERE key = 'schema_version'", [String(SCHEMA_VERSION)]);
      }
      if (!options.readonly) await client.query(MARK_STATEMENT);
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  } catch (e) {
    await pool.end().catch(() => undefined);
    if (e instanceof StoreError) throw e;
    const err = e as { code?: string; message: string };
    if (/client password must be a string/.test(err.message)) {
      throw new StoreError(location, 'cannot open the results store: the server asks for a password and none was given; set PGPASSWORD or add the password to ~/.pgpass');
    }
    throw new StoreError(location, `cannot open the results store: ${err.message.replace(url, location)}${err.code && !err.message.includes(err.code) ? ` (${err.code})` : ''}`);
  }

  let outageSince: number | null = null;
  const retrying = async <T>(op: () => Promise<T>): Promise<T> => {
    let delay = 250;
    const start = Date.now();
    for (;;) {
      try {
        const out = await op();
        if (outageSince !== null) {
          log(`results store ${location}: reachable again after ${((Date.now() - outageSince) / 1000).toFixed(1)} s`);
          outageSince = null;
        }
        return out;
      } catch (e) {
        if (!isTransient(e) || Date.now() - start > retryMs) throw e;
        if (outageSince === null) {
          outageSince = Date.now();
          log(`results store ${location}: connection lost (${(e as Error).message}); retrying with backoff`);
        }
        await sleep(delay);
        delay = Math.min(8000, delay * 2);
      }
    }
  };
  const direct = executor(pool);
  return {
    dialect: 'postgres',
    location,
    created,
    forUpdate: 'FOR UPDATE',
    all: (sql, params) => retrying(() => direct.all(sql, params)),
    run: (sql, params) => retrying(() => direct.run(sql, params)),
    runOnce: (sql, params) => direct.run(sql, params),
    transaction: <T>(fn: (tx: SqlExecutor) => Promise<T>) => retrying(async () => {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const out = await fn(executor(client));
        await client.query('COMMIT');
        return out;
      } catch (e) {
        broken = isTransient(e);
        if (!broken) await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release(broken ? true : undefined);
      }
    }),
    close: () => pool.end(),
  };
}
