/**
 * SQLite behind the results store (better-sqlite3): one file, WAL journal and a busy timeout for
 * the worker processes of one host.
 *
 * What it never does: touch a database that is not a results store (tables but no schema marker:
 * refused before anything is written, the file stays byte-identical), or leave files behind a
 * reader. Readers take a snapshot of the file into memory when no writer is active (no -wal beside
 * it), so an archive in a read-only folder can be analysed and nothing (-wal, -shm) is created.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { createStatements, MARK_STATEMENT, migrationStatements, notOurs, SCHEMA_VERSION, STORE_APPLICATION } from './schema';
import { StoreError, type SqlDriver, type SqlExecutor } from './driver';

const SQLITE_HEADER = 'SQLite format 3\0';

type Kind = { kind: 'ours'; version: number } | { kind: 'empty' } | { kind: 'foreign'; tables: string[]; why?: string };

function classify(db: Database.Database): Kind {
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[]);
  if (tables.length === 0) return { kind: 'empty' };
  if (tables.includes('meta')) {
    const value = (key: string) => {
      try {
        return db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined;
      } catch {
        return undefined; // a meta table of another shape: not ours
      }
    };
    const v = value('schema_version');
    if (v !== undefined) {
      const columns = (t: string) => (tables.includes(t) ? db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all(t) as string[] : []);
      const why = notOurs({ version: /^\d+$/.test(String(v)) ? Number(v) : NaN, application: value('application') ?? null }, { runs: columns('runs'), epochs: columns('epochs') });
      return why ? { kind: 'foreign', tables, why } : { kind: 'ours', version: Number(v) };
    }
  }
  return { kind: 'foreign', tables };
}

function refuseForeign(abs: string, k: Kind): void {
  if (k.kind === 'foreign') {
    throw new StoreError(abs, `not a results store (an SQLite database with tables ${k.tables.slice(0, 5).join(', ')}${k.tables.length > 5 ? ', ...' : ''} and ${k.why ?? 'no schema marker'}); refusing to touch it, pass another --results`);
  }
  if (k.kind === 'ours' && k.version > SCHEMA_VERSION) {
    throw new StoreError(abs, `schema version ${k.version} is newer than this code's ${SCHEMA_VERSION}; update the workspace (git pull) to read it`);
  }
}

/** Whether the file has a -wal beside it with content (a writer is active, or one was killed). */
function walActive(abs: string): boolean {
  try {
    return fs.statSync(`${abs}-wal`).size > 0;
  } catch {
    return false;
  }
}

/** The whole file as an in-memory database (the WAL flag in the header cleared); nothing touches the file. */
function snapshot(abs: string): Database.Database {
  const bytes = fs.readFileSync(abs);
  if (bytes.length < 100 || bytes.subarray(0, 16).toString('latin1') !== SQLITE_HEADER) {
    throw new StoreError(abs, 'not an SQLite database (not a results store); refusing to touch it');
  }
  if (bytes[18] === 2) bytes[18] = 1;
  if (bytes[19] === 2) bytes[19] = 1;
  return new Database(bytes); // in memory: an older schema is upgraded there, the file never changes
}

/** A read-only connection even where the folder is read-only and a -wal exists: a private copy then. */
function readonlyConnection(abs: string): { db: Database.Database; cleanup: () => void } {
  if (!walActive(abs)) return { db: snapshot(abs), cleanup: () => undefined };
  try {
    fs.accessSync(path.dirname(abs), fs.constants.W_OK);
    return { db: new Database(abs, { readonly: true, fileMustExist: true, timeout: 30000 }), cleanup: () => undefined };
  } catch {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-store-'));
    const copy = path.join(dir, 'store.sqlite');
    fs.copyFileSync(abs, copy);
    fs.copyFileSync(`${abs}-wal`, `${copy}-wal`);
    const db = new Database(copy, { fileMustExist: true });
    return { db, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
}

/** Refuses a store that cannot be written, before anything is trained (root included: mode bits and read-only mounts). */
function checkWritable(abs: string): void {
  const dir = path.dirname(abs);
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    const probe = path.join(dir, `.${path.basename(abs)}.probe-${process.pid}`);
    fs.writeFileSync(probe, '');
    fs.rmSync(probe);
  } catch (e) {
    throw new StoreError(abs, `not writable: its folder ${dir} cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (fs.existsSync(abs)) {
    const st = fs.statSync(abs);
    if ((st.mode & 0o222) === 0) throw new StoreError(abs, 'not writable: the file is read-only (mode ' + (st.mode & 0o777).toString(8) + '); writing commands need a writable store');
    try {
      fs.accessSync(abs, fs.constants.W_OK);
    } catch (e) {
      throw new StoreError(abs, `not writable (${(e as NodeJS.ErrnoException).code})`);
    }
  }
}

/**
 * Checks, creating nothing, that a writer could open `file`: its folder and the file are writable,
 * and an existing file is a results store of this or an older schema (or empty).
 * @throws StoreError as openSqlite does
 */
export function probeSqlite(file: string): void {
  const abs = path.resolve(file);
  if (fs.existsSync(abs) && fs.statSync(abs).isDirectory()) throw new StoreError(abs, 'is a directory, not a results store file');
  const dir = path.dirname(abs);
  if (!fs.existsSync(dir)) {
    let up = dir;
    while (!fs.existsSync(up)) up = path.dirname(up);
    if (!fs.statSync(up).isDirectory()) throw new StoreError(abs, `not writable: its folder ${dir} cannot be written (${path.basename(up)} is a file)`);
    return;
  }
  checkWritable(abs);
  if (fs.existsSync(abs) && fs.statSync(abs).size > 0) {
    const look = readonlyConnection(abs);
    try {
      refuseForeign(abs, classify(look.db));
    } finally {
      look.db.close();
      look.cleanup();
    }
  }
}

/**
 * Opens a SQLite results store.
 * @param file path of the store
 * @param options.readonly read commands: the file must exist and is never written
 * @throws StoreError naming the file: a directory, missing (readonly), not writable (writers), not an
 *   SQLite database, another program's database, or a newer schema
 */
export function openSqlite(file: string, options: { readonly?: boolean } = {}): SqlDriver {
  const abs = path.resolve(file);
  const exists = fs.existsSync(abs);
  if (exists && fs.statSync(abs).isDirectory()) throw new StoreError(abs, 'is a directory, not a results store file');
  let db: Database.Database;
  let cleanup = () => undefined as void;
  let created = false;
  try {
    if (options.readonly) {
      if (!exists) throw new StoreError(abs, 'results store does not exist (run an experiment first, or check the path)');
      if (fs.statSync(abs).size === 0) throw new StoreError(abs, 'is an empty file, not a results store yet (run an experiment first)');
      ({ db, cleanup } = readonlyConnection(abs));
      const k = classify(db);
      if (k.kind === 'empty') throw new StoreError(abs, 'is an empty database, not a results store yet (run an experiment first)');
      refuseForeign(abs, k);
      if (k.kind === 'ours' && k.version < SCHEMA_VERSION) {
        if (!db.memory) throw new StoreError(abs, `schema version ${k.version} is older than this code's ${SCHEMA_VERSION} and a writer has it open; read it when that writer is done`);
        for (const st of migrationStatements('sqlite', k.version)) db.exec(st);
      }
      db.pragma('query_only = ON');
    } else {
      checkWritable(abs);
      const nonEmpty = exists && fs.statSync(abs).size > 0;
      if (nonEmpty) {
        const look = readonlyConnection(abs);
        try {
          const k = classify(look.db);
          refuseForeign(abs, k);
          created = k.kind === 'empty';
        } finally {
          look.db.close();
          look.cleanup();
        }
      } else {
        created = true;
      }
      db = new Database(abs, { timeout: 30000 });
      db.pragma('busy_timeout = 30000');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.exec('BEGIN IMMEDIATE');
      try {
        const k = classify(db); // again, under the write lock: another process may have created it meanwhile
        refuseForeign(abs, k);
        if (k.kind === 'empty') {
          for (const s of createStatements('sqlite')) db.exec(s);
          db.prepare('INSERT INTO meta(key, value) VALUES (?, ?), (?, ?)').run('schema_version', String(SCHEMA_VERSION), 'application', STORE_APPLICATION);
        } else if (k.kind === 'ours' && k.version < SCHEMA_VERSION) {
          for (const s of migrationStatements('sqlite', k.version)) db.exec(s);
          db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(SCHEMA_VERSION));
        }
        if (k.kind === 'ours') db.exec(MARK_STATEMENT);
        db.exec('COMMIT');
      } catch (e) {
        db.exec('ROLLBACK');
        throw e;
      }
    }
    db.pragma('foreign_keys = ON');
  } catch (e) {
    cleanup();
    if (e instanceof StoreError) throw e;
    throw new StoreError(abs, `cannot open as a results store: ${(e as Error).message}`);
  }
  return sqliteDriver(db, abs, created, cleanup);
}

function sqliteDriver(db: Database.Database, location: string, created: boolean, cleanup: () => void): SqlDriver {
  const cache = new Map<string, Database.Statement>();
  const stmt = (sql: string) => {
    let s = cache.get(sql);
    if (!s) {
      s = db.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  };
  const exec: SqlExecutor = {
    all: async <T>(sql: string, params: unknown[] = []) => stmt(sql).all(...params) as T[],
    run: async (sql: string, params: unknown[] = []) => stmt(sql).run(...params).changes,
  };
  let queue: Promise<unknown> = Promise.resolve();
  return {
    ...exec,
    runOnce: exec.run,
    dialect: 'sqlite',
    location,
    created,
    forUpdate: '',
    transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      // one transaction at a time on this connection, even when callers interleave (heartbeat timers)
      const next = queue.then(async () => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const out = await fn(exec);
          db.exec('COMMIT');
          return out;
        } catch (e) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw e;
        }
      });
      queue = next.catch(() => undefined);
      return next;
    },
    async close() {
      await queue;
      if (db.open) db.close();
      cleanup();
    },
  };
}
