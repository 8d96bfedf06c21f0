#!/usr/bin/env node
/**
 * Command-line entry of the workspace.
 *   start                     quick protocol on the embedded data, then the analysis, reports/quick/ and the headline
 *   experiment --protocol P   train (or resume) a protocol
 *   analyze                   per-arm table and Welch t-tests from the results store
 *   export-csv                runs.csv and epochs.csv from the results store
 *   export-charts, report     charts (PNG/SVG/HTML) and reports/report.md
 *   status                    per protocol and arm: finished, running (worker, heartbeat), waiting, failed
 *   copy-store --from A --to B   copies runs, epochs and checkpoints between stores (SQLite, PostgreSQL)
 *   download                  the official CIFAR-10 binary archive into data/
 *   protocols                 list protocols
 *   verify-study              checks every finished study run against its epoch rows and schedule (src/runs/verify.ts)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { BACKEND_CHOICES, type BackendChoice } from './engine/engine';
import { defaultWorkers, runProtocol } from './runs/runner';
import { resolveResultsLocation, STUDY_RESULTS_PATH } from './store/location';
import { verificationText, verifyStudyStore } from './runs/verify';
import { redactLocation } from './store/sql/driver';
import { CONFLICT_POLICIES, copyStore, type ConflictPolicy } from './store/copy';
import { storeStatus, statusText } from './store/status';
import { expandProtocol } from './runs/protocols';
import { LIMITS, runId } from './train/config';
import { EMBEDDED_DATA_DIR, locateCifar10 } from './data/locate';
import { loadCifar10 } from './data/cifar10';
import { PROTOCOLS, getProtocol, type ProtocolOverrides } from './runs/protocols';
import { loadProtocolFile } from './runs/protocol-file';
import { loadResults } from './analysis/results';
import { analysisText, headlineText } from './analysis/text';
import { analyzeResults } from './analysis/model';
import { exportCsv } from './store/csv';
import { DOWNLOADED_DATA_DIR } from './data/locate';

const BACKENDS = BACKEND_CHOICES.filter((b) => b !== 'cpu');
import { downloadCifar10 } from './data/download';

const USAGE = `usage: node dist/cli.js <command> [options]
commands:
  start [--out DIR]              train the quick protocol on the embedded data, print the analysis, write reports/quick/ (or DIR), print the headline
  experiment --protocol NAME     train or resume a protocol (${Object.keys(PROTOCOLS).join(', ')})
      [--seeds N] [--max-epochs N] [--target X] [--fraction F] [--arms a,b] [--batch-size N]
      [--backend ${BACKENDS.join('|')}] [--workers N] [--threads N|auto] [--data DIR] [--results FILE|URL]
      [--checkpoint-every N (0: none)] [--lease-seconds S (120)] [--heartbeat-seconds S (30)] [--run-index I] [--max-runs K]
  experiment --protocol-file FILE.json   a custom protocol (own schedules; format in src/runs/protocol-file.ts), same options
  analyze [--protocol NAME | --protocol-file FILE.json] [--results FILE|URL] [--allow-mixed-configs]
  status [--results FILE|URL]    per protocol and arm: finished, running (worker, last heartbeat, epoch), waiting, failed
  copy-store --from FILE|URL --to FILE|URL [--no-checkpoints] [--on-conflict fail|keep-target|take-source]
                                 copy runs, epochs, planned runs and checkpoints (idempotent); a finished run is never
                                 replaced by a different one unless --on-conflict take-source (fail: keep it, exit 1)
  export-csv [--results FILE|URL] [--out DIR]
  export-charts [--protocol NAME] [--results FILE|URL] [--out DIR] [--formats png,svg,html] [--style paper|screen] [--scale N] [--allow-mixed-configs]
  report [--protocol NAME] [--results FILE|URL] [--out FILE] [--formats png,svg,html] [--style paper|screen] [--scale N] [--allow-mixed-configs]
  --workers 0                    trains in this process instead of worker processes
  --threads N|auto               threads per run (wasm or onednn; N > 1: the data-parallel trainer, results equal up to float rounding,
                                 the same N gives the same run bit for bit). auto (default), resolved once per invocation:
                                 floor(cores / runs trained at once), i.e. 1 while pending runs >= cores, more for the last
                                 runs or a single run. A resumed run keeps the thread count recorded in its checkpoint.
  --version                      versions of the workspace and its engine packages
  download                       fetch and verify the official CIFAR-10 binary archive into data/
  protocols [--runs NAME]        list the protocols / the runs of one with their --run-index (give the workers' --seeds, --arms, ... too)
  verify-study [--results FILE|URL]   checks the shipped study (studies/resnet20-cifar10.sqlite): summaries vs epoch rows, learning rates vs schedules, full data, distinct seeds
--results takes a SQLite file (default data/results.sqlite) or a postgres:// URL; RESULTS_URL sets it too.`;

/** A usage error: one line, exit code 2. */
class UsageError extends Error {}

const OPTIONS = {
  protocol: { type: 'string' }, 'protocol-file': { type: 'string' }, seeds: { type: 'string' }, 'max-epochs': { type: 'string' }, target: { type: 'string' },
  fraction: { type: 'string' }, arms: { type: 'string' }, 'batch-size': { type: 'string' }, backend: { type: 'string' },
  workers: { type: 'string' }, data: { type: 'string' }, results: { type: 'string' }, out: { type: 'string' },
  formats: { type: 'string' }, scale: { type: 'string' }, style: { type: 'string' }, 'allow-mixed-configs': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' }, 'checkpoint-every': { type: 'string' }, 'lease-seconds': { type: 'string' },
  'heartbeat-seconds': { type: 'string' }, 'run-index': { type: 'string' }, 'max-runs': { type: 'string' }, threads: { type: 'string' },
  from: { type: 'string' }, to: { type: 'string' }, runs: { type: 'string' }, 'no-checkpoints': { type: 'boolean' }, 'on-conflict': { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** Upper bounds of the integer options (LIMITS: values no real study reaches), checked before anything allocates. */
const INT_MAX: Record<string, number> = {
  seeds: LIMITS.seeds, 'max-epochs': LIMITS.maxEpochs, 'batch-size': LIMITS.batchSize, workers: LIMITS.workers,
  'checkpoint-every': LIMITS.maxEpochs, 'run-index': LIMITS.runs - 1, 'max-runs': LIMITS.runs, threads: LIMITS.threads,
};

/**
 * An integer option: decimal digits only (no sign, spaces, exponent or hex: `0x2`, `1e3`, ` 2` are
 * errors), in min..INT_MAX[name].
 * @throws UsageError naming the option and the value as given
 */
function int(v: string | undefined, name: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const max = INT_MAX[name] ?? Number.MAX_SAFE_INTEGER;
  if (/^-\d+$/.test(v) || (/^\d+$/.test(v) && Number(v) < min)) throw new UsageError(`--${name} must be an integer >= ${min}, got "${v}"`);
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be an integer >= ${min} written in decimal digits only, got "${v}"`);
  const n = Number(v);
  if (n > max) throw new UsageError(`--${name} must be at most ${max} (a real study never needs more), got "${v}"`);
  return n;
}

/**
 * A decimal number option in (lo, hi] (`0.5`, `.5`, `5e-1`; no hex, spaces, Infinity or NaN).
 * @throws UsageError naming the option and the value as given
 */
function num(v: string | undefined, name: string, lo: number, hi: number): number | undefined {
  if (v === undefined) return undefined;
  const n = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n <= lo || n > hi) throw new UsageError(`--${name} must be a number in (${lo}, ${hi}], got "${v}"`);
  return n;
}

/** The protocol overrides of the command line (each checked: see int, num; `--arms ,` names no arm). */
function overridesFrom(v: Values): ProtocolOverrides {
  let arms: string[] | undefined;
  if (v.arms !== undefined) {
    arms = v.arms.split(',').map((s) => s.trim()).filter(Boolean);
    if (arms.length === 0) throw new UsageError(`--arms "${v.arms}" names no arm; give a comma-separated list such as step,cosine`);
  }
  return {
    seeds: int(v.seeds, 'seeds', 1),
    maxEpochs: int(v['max-epochs'], 'max-epochs', 1),
    target: num(v.target, 'target', 0, 1),
    trainFraction: num(v.fraction, 'fraction', 0, 1),
    arms,
    batchSize: int(v['batch-size'], 'batch-size', 1),
  };
}

/**
 * Joins `--name -1` into `--name=-1` for the options that take a value, so a negative number gets the
 * option's own range error instead of Node's "argument is ambiguous".
 */
function joinNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return [...out, ...argv.slice(i)];
    const name = a.startsWith('--') ? a.slice(2) : '';
    const option = (OPTIONS as Record<string, { type: string }>)[name];
    if (option?.type === 'string' && i + 1 < argv.length && /^-(\d|\.\d)/.test(argv[i + 1])) {
      out.push(`${a}=${argv[++i]}`);
    } else {
      out.push(a);
    }
  }
  return out;
}

/** --threads: `auto` (default) or an integer in 1..LIMITS.threads. @throws UsageError naming the value as given */
function threadsFrom(v: Values): number | 'auto' {
  if (v.threads === undefined || v.threads === 'auto') return 'auto';
  if (!/^\d+$/.test(v.threads) || Number(v.threads) < 1) throw new UsageError(`--threads must be "auto" or an integer >= 1, got "${v.threads}"`);
  return int(v.threads, 'threads', 1)!;
}

function backendFrom(v: Values): BackendChoice {
  const b = (v.backend ?? 'auto') as BackendChoice;
  if (!BACKEND_CHOICES.includes(b)) throw new UsageError(`unknown backend "${v.backend}"; expected one of ${BACKENDS.join(', ')}`);
  if (b === 'cpu') throw new UsageError('backend "cpu" (pure JavaScript) needs minutes per batch and is not used for training; use wasm');
  return b;
}

async function experiment(v: Values, protocolName: string): Promise<void> {
  // unknown protocol or bad protocol file -> error before anything
  const protocol = v['protocol-file'] ? loadProtocolFile(v['protocol-file']) : getProtocol(protocolName);
  const started = Date.now();
  const controller = new AbortController();
  const location = resolveResultsLocation(v.results);
  let firstSignalAt = 0;
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
    const handler = () => {
      // a scheduler signals every process of a job and its batch script passes the signal on: a
      // repeat within 2 s is the same stop, not a second request
      if (controller.signal.aborted && Date.now() - firstSignalAt < 2000) return;
      if (controller.signal.aborted) {
        console.error(`${signal} again: exiting now; a run not yet released is resumable at once on this host, elsewhere when its lease expires`);
        process.exit(signal === 'SIGINT' ? 130 : 143);
      }
      firstSignalAt = Date.now();
      console.error(`\n${signal}: stopping every run within one iteration and releasing it (resumable from its last checkpoint); ${signal} again exits at once`);
      controller.abort(signal);
    };
    process.on(signal, handler);
    return () => process.off(signal, handler);
  });
  const result = await runProtocol({
    protocol, overrides: overridesFrom(v), results: location, data: v.data, backend: backendFrom(v),
    workers: int(v.workers, 'workers', 0) ?? defaultWorkers(), threads: threadsFrom(v), signal: controller.signal,
    lease: { checkpointEvery: int(v['checkpoint-every'], 'checkpoint-every', 0), leaseSeconds: num(v['lease-seconds'], 'lease-seconds', 0, 86400),
      heartbeatSeconds: num(v['heartbeat-seconds'], 'heartbeat-seconds', 0, 3600) },
    runIndex: int(v['run-index'], 'run-index', 0), maxRuns: int(v['max-runs'], 'max-runs', 1),
  }).finally(() => handlers.forEach((remove) => remove()));
  console.log(`protocol ${result.protocol}: trained ${result.trained}, skipped ${result.skipped} finished, failed ${result.failed}` +
    `${result.released ? `, released ${result.released}` : ''} in ${((Date.now() - started) / 1000).toFixed(1)} s; results in ${result.resultsPath}`);
  if (result.interrupted) {
    console.error(`interrupted (${result.interrupted}): ${result.released} run${result.released === 1 ? '' : 's'} released, resumable from the last checkpoint; ` +
      'run the same command again to continue');
    process.exit(result.interrupted === 'SIGINT' ? 130 : 143);
  }
  if (result.failed > 0) process.exitCode = 1;
}

async function analyze(v: Values, protocol?: string): Promise<void> {
  const file = resolveResultsLocation(v.results);
  if (v['protocol-file']) protocol = loadProtocolFile(v['protocol-file']).name;
  const { runs, epochs, notes } = await loadResults(file, { protocol, allowMixedConfigs: v['allow-mixed-configs'] });
  if (protocol && runs.length === 0) {
    const present = [...new Set((await loadResults(file, { allowMixedConfigs: true })).runs.map((r) => r.protocol))];
    throw new Error(`${redactLocation(file)}: no runs of protocol "${protocol}" (the store has ${present.length ? `runs of: ${present.join(', ')}` : 'no runs'})`);
  }
  notes.forEach((n) => console.log(`note: ${n}`));
  console.log(`results: ${redactLocation(file)}`);
  console.log(analysisText(analyzeResults(runs, epochs)));
}

/** `copy-store`: one line per conflict and corrupt checkpoint, a summary, exit 1 on conflicts under --on-conflict fail (the default). */
async function copyStoreCommand(v: Values): Promise<void> {
  if (!v.from || !v.to) throw new UsageError('copy-store needs --from FILE|URL and --to FILE|URL');
  const onConflict = (v['on-conflict'] ?? 'fail') as ConflictPolicy;
  if (!CONFLICT_POLICIES.includes(onConflict)) throw new UsageError(`--on-conflict must be one of ${CONFLICT_POLICIES.join(', ')}, got "${v['on-conflict']}"`);
  const [from, to] = [resolveResultsLocation(v.from), resolveResultsLocation(v.to)];
  if (from === to) throw new UsageError('copy-store: --from and --to name the same store');
  const r = await copyStore(from, to, { log: (l) => console.log(l), checkpoints: !v['no-checkpoints'], onConflict });
  console.log(`copied ${r.copied} runs (${r.unchanged} unchanged, newer there or kept)${v['no-checkpoints'] ? ' without checkpoints' : ''} and ${r.planned} planned runs from ${r.from} to ${r.to}` +
    `${r.corrupt ? `; ${r.corrupt} corrupt checkpoint${r.corrupt === 1 ? '' : 's'} left out` : ''}`);
  if (r.conflicts.length && onConflict === 'fail') {
    console.error(`error: ${r.conflicts.length} run${r.conflicts.length === 1 ? '' : 's'} finished differently in the two stores; ${r.to} keeps its own (see the conflict lines; --on-conflict keep-target or take-source decides)`);
    process.exitCode = 1;
  }
}

/**
 * The end of `npm start`: writes the protocol's report and charts into reports/<protocol>/ (or --out DIR; PNG
 * and SVG with Chromium, self-contained HTML without) and prints the headline of the analysis.
 */
async function startReport(v: Values, protocol: string): Promise<void> {
  const report = require('./analysis/report/index') as typeof import('./analysis/report/index');
  const { findChromium } = require('./analysis/charts/export') as typeof import('./analysis/charts/export');
  let formats: ('png' | 'svg' | 'html')[] = ['png', 'svg', 'html'];
  let how = 'PNG and SVG for a paper (Chromium), captions as .txt, interactive HTML';
  try {
    findChromium();
  } catch {
    formats = ['html'];
    how = 'interactive HTML (no Chromium found: install Debian chromium or set CHROMIUM_PATH for PNG/SVG)';
  }
  const out = path.join(v.out ?? path.join('reports', protocol), 'report.md');
  const r = await report.writeReport({ results: resolveResultsLocation(v.results), out, protocol, formats });
  const p = r.analyses.find((a) => a.protocol === protocol);
  const files = Object.values(r.files).flatMap((f) => Object.values(f)).filter((f): f is string => !!f);
  const shown = (f: string) => {
    const rel = path.relative(process.cwd(), f);
    return rel && !rel.startsWith('..') ? rel : f;
  };
  const charts = files.length ? `${files.length} files in ${shown(path.dirname(files[0]))}, ${how}` : r.chartsNote ?? 'none';
  console.log('');
  if (p) console.log(headlineText(p, { report: shown(r.file), charts }));
}

/** `protocols --runs NAME`: the runs of a protocol's expansion with their --run-index (needs the data: run ids hash the dataset). */
function listProtocolRuns(v: Values, name: string): void {
  const protocol = v['protocol-file'] ? loadProtocolFile(v['protocol-file']) : getProtocol(name);
  const dir = protocol.data === 'embedded' && !v.data ? EMBEDDED_DATA_DIR : locateCifar10(v.data).dir;
  const ds = loadCifar10(dir);
  const { runs } = expandProtocol(protocol, ds.manifest.name, ds.train.count, overridesFrom(v), ds.test.count);
  console.log(`protocol ${protocol.name}: ${runs.length} runs (--run-index 0..${runs.length - 1}) on ${ds.manifest.name}`);
  runs.forEach((c, i) => console.log(`${i}\t${c.arm}\tseed ${c.seed}\t${runId(c)}`));
}

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv), options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    // Node's message may span lines (e.g. "... is ambiguous.\nDid you forget ...?\nTo specify ... use '--x=-XYZ'."): one whole line
    throw new UsageError((e as Error).message.split('\n').map((l) => l.trim()).filter(Boolean).join(' '));
  }
  const { values: v, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (v.version) {
    const pkg = (name: string) => (require(`${name}/package.json`) as { version: string }).version;
    const own = require(path.join(__dirname, '..', 'package.json')) as { name: string; version: string };
    console.log(`${own.name} ${own.version}; @tensorflow/tfjs ${pkg('@tensorflow/tfjs')}, @tensorflow/tfjs-backend-wasm ${pkg('@tensorflow/tfjs-backend-wasm')}, node ${process.version}`);
    return;
  }
  if (v.help || !command) {
    console.log(USAGE);
    if (!command && !v.help) process.exitCode = 2;
    return;
  }
  if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
  switch (command) {
    case 'start': {
      const t0 = Date.now();
      await experiment(v, v.protocol ?? 'quick');
      await analyze(v, v.protocol ?? 'quick');
      await startReport(v, v.protocol ?? 'quick');
      console.log(`npm start finished in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return;
    }
    case 'experiment':
      if (v.protocol && v['protocol-file']) throw new UsageError('give --protocol or --protocol-file, not both');
      if (v['protocol-file']) return experiment(v, '');
      if (!v.protocol) throw new UsageError(`experiment needs --protocol (${Object.keys(PROTOCOLS).join(', ')})`);
      return experiment(v, v.protocol);
    case 'analyze':
      return analyze(v, v.protocol);
    case 'export-csv': {
      const out = path.resolve(v.out ?? 'reports');
      const files = await exportCsv(resolveResultsLocation(v.results), out);
      files.forEach((f) => console.log(`wrote ${f}`));
      return;
    }
    case 'status':
      console.log(statusText(await storeStatus(resolveResultsLocation(v.results))));
      return;
    case 'copy-store':
      return copyStoreCommand(v);
    case 'export-charts':
    case 'report': {
      const mod = require('./analysis/report/index') as { cliExportCharts?: (v: Values) => Promise<void>; cliReport?: (v: Values) => Promise<void> };
      const fn = command === 'report' ? mod.cliReport : mod.cliExportCharts;
      if (!fn) throw new Error(`${command} is not available in this build`);
      return fn(v);
    }
    case 'download': {
      if (fs.existsSync(path.join(DOWNLOADED_DATA_DIR, 'test_batch.bin'))) {
        console.log(`already present: ${DOWNLOADED_DATA_DIR}`);
        return;
      }
      let last = 0;
      await downloadCifar10(DOWNLOADED_DATA_DIR, (got, total) => {
        if (got - last > 8e6 || got === total) {
          last = got;
          process.stdout.write(`\rdownloading ${(got / 1e6).toFixed(0)}${total ? ` / ${(total / 1e6).toFixed(0)}` : ''} MB`);
        }
      });
      console.log(`\nverified and extracted to ${DOWNLOADED_DATA_DIR}`);
      return;
    }
    case 'verify-study': {
      const location = v.results ? resolveResultsLocation(v.results) : STUDY_RESULTS_PATH;
      const r = await verifyStudyStore(location);
      verificationText(r, redactLocation(location)).forEach((l) => console.log(l));
      if (r.problems.length) process.exitCode = 1;
      return;
    }
    case 'protocols':
      if (v.runs) return listProtocolRuns(v, v.runs);
      for (const p of Object.values(PROTOCOLS)) {
        console.log(`${p.name}: ${p.description}\n  arms: ${p.arms.map((a) => `${a.name} (${a.description})`).join('; ')}\n  seeds ${p.seeds}, max epochs ${p.maxEpochs}, target ${p.target ?? '-'}${p.stopAtTarget ? ' (stop)' : ''}`);
        p.notes.forEach((n) => console.log(`  note: ${n}`));
      }
      return;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).catch((e: Error) => {
  if (e instanceof UsageError) {
    console.error(`error: ${e.message}\n(run with --help for usage)`);
    process.exit(2);
  }
  const fsError = e as NodeJS.ErrnoException;
  if (fsError.code && fsError.path && fsError.syscall) {
    // a file-system error: name the user's folder or file, not a temporary file of an atomic write
    const isTemp = /\.tmp/.test(path.basename(fsError.path));
    const where = isTemp ? `folder ${path.dirname(fsError.path)}` : fsError.path;
    const verb = ['open', 'rename', 'mkdir', 'write', 'fsync'].includes(fsError.syscall) ? 'cannot write' : `cannot ${fsError.syscall}`;
    console.error(`error: ${verb} ${where}: ${fsError.code}`);
  } else {
    console.error(`error: ${e.message}`);
  }
  if (process.env.DEBUG) console.error(e.stack);
  process.exit(1);
});
