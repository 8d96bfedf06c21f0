/**
 * What the training notebooks (02 race-to-85, 03 full-182) share: their parameters made into one
 * checked plan (a named small configuration or a protocol with overrides, the results store, the
 * data folder, the workers), the description of the runs to train and of those already finished,
 * the estimate of the training time measured in the kernel, and the removal of a scratch store.
 * Each notebook keeps its own parameters cell, named configurations, training call and charts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CIFAR10_RECORD_BYTES, readManifest } from '../data/cifar10';
import { PROJECT_ROOT } from '../data/locate';
import type { BackendChoice } from '../engine/engine';
import { openResultsStore } from '../store';
import { runId, type RunConfig } from '../train/config';
import { FINISHED_STATUSES } from '../train/records';
import { estimateTrainingSeconds, formatDuration, measureThroughput } from '../train/throughput';
import { expandProtocol, getProtocol, type ProtocolOverrides, type ProtocolSpec } from './protocols';
import { defaultWorkers, protocolDataFolder } from './settings';

/** A results location written as a URL (scheme://...), not a file path. */
const isUrl = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);

/** A training notebook's parameters (papermill names; null: the protocol's or the default). */
export interface TrainingNotebookParameters {
  /** A named configuration of the notebook, or a protocol. */
  protocol: string;
  seeds: number | null;
  max_epochs: number | null;
  train_fraction: number | null;
  target: number | null;
  arms: string[] | null;
  batch_size: number | null;
  /** CIFAR-10 folder relative to the project root; null: the configuration's, else located. */
  data_dir: string | null;
  /** null: a temporary scratch store; a file relative to the project root, or a postgres:// URL. */
  results: string | null;
  /** Worker processes; null: one per core; 0: in the kernel. */
  workers: number | null;
  backend: BackendChoice;
  redraw_every: number;
}

/** A notebook's small named configuration: a protocol with overrides (and data), described in words. */
export interface NamedConfiguration {
  protocol: string;
  overrides: ProtocolOverrides;
  /** CIFAR-10 folder of the configuration (absolute), when it is not the protocol's. */
  data?: string;
  description: string;
}

/** A training notebook's parameters made into one plan (trainingNotebook). */
export interface TrainingNotebook {
  readonly parameters: Readonly<TrainingNotebookParameters>;
  readonly spec: ProtocolSpec;
  readonly overrides: ProtocolOverrides;
  /** The validation-accuracy target (the override, else the protocol's); null: none. */
  readonly targetAccuracy: number | null;
  /** The store is a temporary scratch store (results null), removed by removeScratchStore. */
  readonly temporary: boolean;
  /** The results store: a file path or a postgres:// URL. */
  readonly store: string;
  /** --data of the training call (undefined: the protocol's rule, protocolDataFolder). */
  readonly dataDir: string | undefined;
  readonly workerCount: number;
  /** A line as printed: paths relative to the project root, the temporary store by name, no password of a URL. */
  shown(line: string): string;
}

/**
 * Makes a training notebook's parameters into its plan and prints what it will do: the parameters,
 * the configuration (named, or the protocol with its overrides) and the results store.
 * @param configurations the notebook's named configurations (any other name is a protocol)
 * @param scratchPrefix prefix of the temporary folder of a scratch store (e.g. 'nb02-')
 * @throws ConfigError for a name that is neither a configuration nor a protocol
 */
export function trainingNotebook(p: TrainingNotebookParameters, configurations: Record<string, NamedConfiguration>, scratchPrefix: string,
  log: (line: string) => void = (l) => console.log(l)): TrainingNotebook {
  const named = configurations[p.protocol];
  const spec = getProtocol(named ? named.protocol : p.protocol);
  const overrides: ProtocolOverrides = { ...(named ? named.overrides : {}) };
  if (p.seeds !== null) overrides.seeds = p.seeds;
  if (p.max_epochs !== null) overrides.maxEpochs = p.max_epochs;
  if (p.train_fraction !== null) overrides.trainFraction = p.train_fraction;
  if (p.target !== null) overrides.target = p.target;
  if (p.arms !== null) overrides.arms = p.arms;
  if (p.batch_size !== null) overrides.batchSize = p.batch_size;
  const temporary = p.results === null;
  const store = p.results === null ? path.join(fs.mkdtempSync(path.join(os.tmpdir(), scratchPrefix)), 'results.sqlite')
    : isUrl(p.results) ? p.results : path.resolve(PROJECT_ROOT, p.results);
  const nb: TrainingNotebook = {
    parameters: Object.freeze({ ...p }), spec, overrides,
    targetAccuracy: overrides.target !== undefined ? overrides.target : spec.target,
    temporary, store,
    dataDir: p.data_dir !== null ? path.resolve(PROJECT_ROOT, p.data_dir) : named?.data,
    workerCount: p.workers === null ? defaultWorkers() : p.workers,
    shown: (line) => line.split(path.dirname(store)).join(temporary ? '<temporary store>' : path.dirname(store))
      .split(PROJECT_ROOT + path.sep).join('').replace(/(\/\/[^:@/\s]*):[^@/\s]*@/g, '$1:***@'),
  };
  log(`parameters: ${JSON.stringify({ protocol: p.protocol, seeds: p.seeds, max_epochs: p.max_epochs, train_fraction: p.train_fraction, target: p.target, arms: p.arms, batch_size: p.batch_size, data_dir: p.data_dir, results: p.results, workers: p.workers, backend: p.backend, redraw_every: p.redraw_every })}`);
  log(named ? `configuration ${p.protocol}: protocol ${named.protocol} with ${JSON.stringify(overrides)}${named.data ? `, data ${nb.shown(named.data)}` : ''}: ${named.description}` : `protocol ${p.protocol}${Object.keys(overrides).length ? ` with ${JSON.stringify(overrides)}` : ''}`);
  log(`results store: ${temporary ? 'a new temporary SQLite store, removed at the end of the notebook' : nb.shown(store)}; ${nb.workerCount} worker process(es), backend ${p.backend}`);
  return nb;
}

/** The runs of a training notebook's plan: the protocol's expansion on the data found, and those still to train. */
export interface TrainingPlan {
  planned: RunConfig[];
  /** Planned runs not finished in the store. */
  pending: RunConfig[];
  /** Images of the data folder's training files and of its test file. */
  trainFileImages: number;
  testImages: number;
}

/**
 * Prints the protocol (arms, seeds, epochs, target, notes) and what the store already holds of it,
 * and expands it on the data folder (protocolDataFolder's rule, without reading the images).
 * @returns the planned runs and those still to train
 * @throws DataFileError when no CIFAR-10 folder is found; StoreError for an unreadable store
 */
export async function trainingPlan(nb: TrainingNotebook, log: (line: string) => void = (l) => console.log(l)): Promise<TrainingPlan> {
  const { spec, overrides } = nb;
  log(`${spec.name}: ${spec.description}`);
  for (const a of spec.arms) log(`  arm ${a.name}: ${a.description}`);
  log(`seeds ${overrides.seeds ?? spec.seeds}, at most ${overrides.maxEpochs ?? spec.maxEpochs} epochs, target ${nb.targetAccuracy ?? '-'}${spec.stopAtTarget ? ' (runs stop there)' : ' (recorded, runs go on)'}`);
  // the protocol's notes describe its own settings: shown only when this run keeps them
  if (Object.keys(overrides).length === 0) spec.notes.forEach((n) => log(`note: ${n}`));
  else log(`(the notes of protocol ${spec.name} describe its own settings (${spec.seeds} seeds, at most ${spec.maxEpochs} epochs, train fraction ${spec.trainFraction}), not this run's: node dist/cli.js protocols prints them)`);
  const manifest = readManifest(protocolDataFolder(spec, nb.dataDir).dir);
  const records = (f: string) => manifest.files[f].records ?? manifest.files[f].bytes / CIFAR10_RECORD_BYTES;
  const trainFileImages = manifest.train.reduce((s, f) => s + records(f), 0);
  const planned = expandProtocol(spec, manifest.name, trainFileImages, overrides).runs;
  const before = nb.temporary || (!isUrl(nb.store) && !fs.existsSync(nb.store)) ? [] : await storedRuns(nb.store, spec.name);
  const counts = new Map<string, number>();
  for (const r of before) counts.set(`${r.arm} ${r.status}`, (counts.get(`${r.arm} ${r.status}`) ?? 0) + 1);
  log(before.length ? `the store holds ${before.length} runs of ${spec.name}: ${JSON.stringify(Object.fromEntries(counts))}` : `the store holds no run of ${spec.name}`);
  const finishedIds = new Set(before.filter((r) => FINISHED_STATUSES.has(r.status)).map((r) => r.runId));
  return { planned, pending: planned.filter((c) => !finishedIds.has(runId(c))), trainFileImages, testImages: records(manifest.test) };
}

/** A protocol's runs in a store, read-only. */
async function storedRuns(location: string, protocol: string): Promise<{ runId: string; arm: string; status: string }[]> {
  const store = await openResultsStore(location, { readonly: true });
  try {
    return await store.listRuns({ protocol });
  } finally {
    await store.close();
  }
}

/**
 * Measures the training speed in this kernel and prints the expected duration of the pending runs
 * (estimateTrainingSeconds), before anything is trained.
 * @returns the expected duration as printed (e.g. "2.1 min to 3.0 min at most")
 */
export async function trainingEstimate(nb: TrainingNotebook, plan: TrainingPlan, log: (line: string) => void = (l) => console.log(l)): Promise<string> {
  const { pending, planned } = plan;
  const speed = await measureThroughput({ backend: nb.parameters.backend, batchSize: nb.overrides.batchSize ?? 128 });
  const first = pending[0] ?? planned[0];
  const trainImages = Math.max(1, Math.round((plan.trainFileImages - first.data.validationCount) * first.data.trainFraction));
  const evalImages = first.data.validationCount + (first.data.testCount ?? plan.testImages);
  const parallelRuns = Math.max(1, Math.min(nb.workerCount, pending.length));
  const expected = estimateTrainingSeconds({ runs: pending.length, epochs: first.maxEpochs, trainImages, evalImages, workers: nb.workerCount }, speed);
  const expectedText = (expected.low === expected.high ? formatDuration(expected.low) : `${formatDuration(expected.low)} to ${formatDuration(expected.high)}`) + (nb.spec.stopAtTarget && pending.length ? ' at most' : '');
  log(`measured in this kernel: ${speed.trainImagesPerSecond.toFixed(0)} training images/s, ${speed.evalImagesPerSecond.toFixed(0)} evaluated images/s, ${speed.setupSeconds.toFixed(1)} s start-up (${speed.backend})`);
  log(`${planned.length} runs, ${planned.length - pending.length} already finished, ${pending.length} to train: up to ${first.maxEpochs} epochs of ${trainImages} training + ${evalImages} evaluated images each, ${parallelRuns} at a time`);
  log(`expected duration: ${expectedText}${parallelRuns > 1 ? ` (${parallelRuns} workers at the measured speed each, to no faster than one process)` : ''}`);
  return expectedText;
}

/** Removes a scratch store (and its folder), or says where the results are kept. */
export function removeScratchStore(nb: TrainingNotebook, log: (line: string) => void = (l) => console.log(l)): void {
  if (nb.temporary) {
    fs.rmSync(path.dirname(nb.store), { recursive: true, force: true });
    log('temporary store removed');
  } else {
    log(`results kept in ${nb.shown(nb.store)}`);
  }
}
