/**
 * Runs a protocol: verifies the data, expands the runs, skips those already finished in the results
 * store, restarts unfinished ones, and trains the rest in parallel worker processes (one per core
 * by default), each with its own tfjs engine, all writing to one SQLite store. A crashed worker
 * marks its run failed and the others go on.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCifar10 } from '../data/cifar10';
import { EMBEDDED_DATA_DIR, locateCifar10, PROJECT_ROOT } from '../data/locate';
import { ConfigError, runId, type RunConfig } from '../train/config';
import { BACKEND_CHOICES, type BackendChoice } from '../engine/engine';
import { executeRun } from './execute';
import { processAlive } from './process';
import { expandProtocol, getProtocol, type ProtocolOverrides, type ProtocolSpec } from './protocols';
import { openResultsStore } from './store';
import type { EpochRecord, RunRecord, RunStatus } from './types';

export const DEFAULT_RESULTS_PATH = path.join(PROJECT_ROOT, 'data', 'results.sqlite');

export interface RunProtocolOptions {
  protocol: string | ProtocolSpec;
  overrides?: ProtocolOverrides;
  /** Results store (default data/results.sqlite). */
  results?: string;
  /** CIFAR-10 directory (--data); default: see locateCifar10. */
  data?: string;
  backend?: BackendChoice;
  /** Parallel worker processes (default: one per core, at most one per pending run); 0 = train in this process. */
  workers?: number;
  /** One line per event (default console.log). */
  log?: (line: string) => void;
  /** After every epoch of any run. */
  onEpoch?: (record: EpochRecord, config: RunConfig) => void;
  /** Redraw an in-epoch progress line (default: when stdout is a TTY). */
  progressBar?: boolean;
}

export interface ProtocolResult {
  protocol: string;
  dataDir: string;
  resultsPath: string;
  trained: number;
  skipped: number;
  failed: number;
  runs: RunRecord[];
}

const FINISHED: RunStatus[] = ['completed', 'censored', 'diverged'];

/**
 * A forced native backend must at least be installed as itself (not the danfojs-node alias) before
 * anything is written; whether its binding loads is found out by the process that trains.
 */
function checkBackendInstalled(backend: BackendChoice): void {
  if (backend !== 'tfjs-node' && backend !== 'tfjs-node-gpu') return;
  const name = `@tensorflow/${backend}`;
  let found: string | null = null;
  try {
    found = (JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { name: string }).name;
  } catch {
    // not installed
  }
  if (found !== name) throw new ConfigError(`backend ${backend} cannot be used: ${name} is ${found ? `${found} (the danfojs-node alias), not the native binding` : 'not installed'}; use --backend wasm or auto`);
}

/** Default number of workers: the cores available to this process. */
export function defaultWorkers(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

function formatEpoch(r: EpochRecord, c: RunConfig): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  return `[${c.protocol} ${c.arm} seed ${c.seed}] epoch ${r.epoch}/${c.maxEpochs}  last lr ${r.learningRate.toPrecision(3)}  ` +
    `train loss ${r.trainLoss.toFixed(3)} acc ${pct(r.trainAccuracy)}  val acc ${pct(r.validationAccuracy)}  ` +
    `test acc ${pct(r.testAccuracy)}  ${r.trainSeconds.toFixed(1)} s train / ${r.totalSeconds.toFixed(1)} s total`;
}

/**
 * Runs (or resumes) a protocol.
 * @throws ConfigError / DataFileError / StoreError before any training on bad input
 */
export async function runProtocol(options: RunProtocolOptions): Promise<ProtocolResult> {
  const protocol = typeof options.protocol === 'string' ? getProtocol(options.protocol) : options.protocol;
  const log = options.log ?? ((l: string) => console.log(l));
  const backend = options.backend ?? 'auto';
  if (!BACKEND_CHOICES.includes(backend)) throw new Error(`unknown backend "${backend}"; expected one of ${BACKEND_CHOICES.join(', ')}`);
  checkBackendInstalled(backend);
  const located = protocol.data === 'embedded' && !options.data
    ? { dir: EMBEDDED_DATA_DIR, description: `embedded CIFAR-10 subset at ${EMBEDDED_DATA_DIR} (protocol ${protocol.name} uses it unless --data is given)` }
    : locateCifar10(options.data);
  const dataset = loadCifar10(located.dir); // verifies every file (size, md5, labels) before training
  log(`data: ${located.description}: ${dataset.train.count} training-file images, ${dataset.test.count} test images, md5 verified`);
  const { runs, warnings } = expandProtocol(protocol, dataset.manifest.name, dataset.train.count, options.overrides);
  if (protocol.data === 'any' && dataset.manifest.name !== 'cifar-10') {
    warnings.unshift(`protocol ${protocol.name} is defined on the full CIFAR-10 set, but the data found is "${dataset.manifest.name}" ` +
      `(${dataset.train.count} training images): results will not be comparable to the study. Use --data DIR, CIFAR10_DIR, or npm run data:cifar10`);
  }
  warnings.forEach((w) => log(`warning: ${w}`));
  const resultsPath = path.resolve(options.results ?? DEFAULT_RESULTS_PATH);
  const store = openResultsStore(resultsPath);
  const pending: RunConfig[] = [];
  let skipped = 0;
  let busy = 0;
  for (const c of runs) {
    const existing = store.getRun(runId(c));
    if (existing && FINISHED.includes(existing.status)) {
      skipped++;
      continue;
    }
    const row = existing as (RunRecord & { pid?: number }) | null;
    if (row?.status === 'running' && processAlive(store.db.prepare('SELECT pid FROM runs WHERE run_id = ?').pluck().get(row.runId) as number) &&
        store.db.prepare('SELECT host FROM runs WHERE run_id = ?').pluck().get(row.runId) === os.hostname()) {
      log(`skip ${row.runId}: being trained by another live process`);
      busy++;
      continue;
    }
    pending.push(c);
  }
  log(`protocol ${protocol.name}: ${runs.length} runs (${[...new Set(runs.map((c) => c.arm))].join(', ')}), ${skipped} already finished, ${busy ? `${busy} being trained by another process, ` : ''}${pending.length} to train; results in ${resultsPath}`);

  const workers = Math.min(options.workers ?? defaultWorkers(), pending.length);
  const progressBar = options.progressBar ?? !!process.stdout.isTTY;
  const progress = new Map<string, string>();
  const drawProgress = () => {
    if (!progressBar) return;
    const line = [...progress.values()].join(' | ');
    process.stdout.write(`\r\x1b[K${line.slice(0, (process.stdout.columns || 120) - 1)}`);
  };
  const onEpoch = (record: EpochRecord, config: RunConfig) => {
    if (progressBar) process.stdout.write('\r\x1b[K');
    log(formatEpoch(record, config));
    options.onEpoch?.(record, config);
  };
  const quarters = new Map<string, number>();
  const bar = (id: string, c: RunConfig, p: { epoch: number; iterationInEpoch: number; iterationsPerEpoch: number; loss: number }) => {
    if (!progressBar) {
      // without a TTY (logs, notebooks): one line per quarter of an epoch, so long epochs show progress
      const q = Math.floor((4 * p.iterationInEpoch) / p.iterationsPerEpoch);
      const key = `${id}#${p.epoch}`;
      if (q > 0 && q < 4 && (quarters.get(key) ?? 0) < q) {
        quarters.set(key, q);
        log(`[${c.protocol} ${c.arm} seed ${c.seed}] epoch ${p.epoch}: ${p.iterationInEpoch}/${p.iterationsPerEpoch} iterations, train loss ${p.loss.toFixed(3)}`);
      }
      return;
    }
    const width = 20;
    const filled = Math.round((width * p.iterationInEpoch) / p.iterationsPerEpoch);
    progress.set(id, `${c.arm} s${c.seed} e${p.epoch} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.iterationInEpoch}/${p.iterationsPerEpoch} loss ${p.loss.toFixed(3)}`);
    drawProgress();
  };
  let failed = 0;
  let trained = 0;
  // final status as logged; a diverged run's line says where (epoch, iteration) from its stored error
  const outcome = (id: string, status: RunStatus | 'skipped' | undefined, reason?: string) => {
    if (status === 'skipped') return `skipped: ${reason ?? 'finished or being trained by another process'}`;
    const error = status === 'diverged' ? store.getRun(id)?.error : null;
    return error ? `${status}: ${error}` : String(status);
  };
  const count = (status: RunStatus | 'skipped' | undefined) => {
    if (status === 'skipped') skipped++;
    else trained++;
  };
  const execOptions = { storePath: resultsPath, dataDir: located.dir, backend };

  if (workers <= 0 || pending.length === 0) {
    for (const c of pending) {
      const id = runId(c);
      try {
        let reason: string | undefined;
        const status = await executeRun(c, { ...execOptions, onEpoch, onProgress: (p) => bar(id, c, p), onSkip: (r) => { reason = r; } }, store);
        log(`[${c.protocol} ${c.arm} seed ${c.seed}] ${outcome(id, status, reason)}`);
        count(status);
      } catch (e) {
        failed++;
        log(`[${c.protocol} ${c.arm} seed ${c.seed}] failed: ${(e as Error).message}`);
      }
      progress.delete(id);
    }
  } else {
    log(`training in ${workers} worker process${workers > 1 ? 'es' : ''} (backend ${backend})`);
    const queue = [...pending];
    const workerFile = path.join(__dirname, 'worker.js');
    await new Promise<void>((resolveAll) => {
      let live = 0;
      const startWorker = () => {
        if (queue.length === 0) {
          if (live === 0) resolveAll();
          return;
        }
        live++;
        const child: ChildProcess = fork(workerFile, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        let current: RunConfig | null = null;
        const next = () => {
          current = queue.shift() ?? null;
          if (current) child.send({ type: 'run', config: current, options: execOptions });
          else child.send({ type: 'exit' });
        };
        child.on('message', (m: { type: string; runId?: string; status?: RunStatus | 'skipped'; reason?: string; message?: string; record?: EpochRecord; config?: RunConfig } & Record<string, number>) => {
          if (m.type === 'ready') next();
          else if (m.type === 'epoch' && m.record && m.config) onEpoch(m.record, m.config);
          else if (m.type === 'progress' && current) bar(m.runId!, current, m as unknown as { epoch: number; iterationInEpoch: number; iterationsPerEpoch: number; loss: number });
          else if ((m.type === 'done' || m.type === 'error') && current) {
            progress.delete(runId(current));
            if (progressBar) process.stdout.write('\r\x1b[K');
            if (m.type === 'done') {
              count(m.status);
              log(`[${current.protocol} ${current.arm} seed ${current.seed}] ${outcome(runId(current), m.status, m.reason)}`);
            } else {
              failed++;
              log(`[${current.protocol} ${current.arm} seed ${current.seed}] failed: ${m.message}`);
            }
            next();
          }
        });
        child.on('exit', (code, signal) => {
          live--;
          if (current) {
            const id = runId(current);
            failed++;
            const why = `worker process ${child.pid} exited (${signal ? `signal ${signal}` : `code ${code}`}) during the run`;
            try {
              const row = store.getRun(id);
              if (!row || row.status === 'running') {
                if (!row) {
                  store.startRun({ runId: id, protocol: current.protocol, arm: current.arm, seed: current.seed, config: current as unknown as Record<string, unknown>, configHash: id.split('/').pop()!, target: current.target, backend, versions: {}, codeVersion: null });
                }
                store.finishRun(id, { status: 'failed', error: why });
              }
            } catch (e) {
              log(`could not mark ${id} failed: ${(e as Error).message}`);
            }
            log(`[${current.protocol} ${current.arm} seed ${current.seed}] failed: ${why}`);
            progress.delete(id);
            current = null;
          }
          startWorker();
        });
      };
      for (let i = 0; i < workers; i++) startWorker();
    });
  }
  if (progressBar) process.stdout.write('\r\x1b[K');
  const result = store.listRuns({ protocol: protocol.name }).filter((r) => runs.some((c) => runId(c) === r.runId));
  store.close();
  return { protocol: protocol.name, dataDir: located.dir, resultsPath, trained, skipped: skipped + busy, failed, runs: result };
}
