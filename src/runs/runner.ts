/**
 * Runs a protocol: checks the results store, verifies the data, expands the runs, records them as
 * planned, and drains them: every slot (one worker process per core by default) claims the next run
 * that is neither finished nor held by a live lease, trains it (resuming from its checkpoint) and
 * takes the next. Any number of such processes, on any hosts, can drain one protocol in one store.
 * Runs held by other workers are waited for: if their lease expires, they are taken over.
 */
import { loadCifar10 } from '../data/cifar10';
import { ConfigError, runId, trainImagesUsed, type RunConfig } from '../train/config';
import { describeEngine, runsThreads } from '../engine/engine';
import { FINISHED_STATUSES } from '../train/records';
import { measureThroughput } from '../train/throughput';
import { checkResultsStore, openResultsStore } from '../store';
import type { EpochRecord, RunRecord } from '../store/types';
import { inProcessSlot, processSlot, type RunSlot, type SlotOutcome } from './pool';
import { formatEpoch, progressPrinter } from './progress';
import { expandProtocol } from './protocols';
import { costText, protocolCost } from './cost';
import { Interrupted, kernelInterruptSignal } from './kernel-signal';
import { availableCpus } from './cpus';
import { protocolDataFolder, resolveRunSettings, resolveThreads, type RunSettings, type RunSettingsInput } from './settings';

/** runProtocol's options: the invocation's settings (checked once by resolveRunSettings) and its hooks. */
export interface RunProtocolOptions extends RunSettingsInput {
  /**
   * Aborting it (SIGINT/SIGTERM) stops every run within an iteration and releases it, resumable.
   * Default in a tslab kernel: the cell's Kernel > Interrupt signal, and then an interrupted protocol
   * throws `Interrupted` (after releasing its runs) instead of returning.
   */
  signal?: AbortSignal;
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
  /** The store's location (a URL without its password). */
  resultsPath: string;
  trained: number;
  skipped: number;
  failed: number;
  /** Runs stopped by the signal and released, resumable from their checkpoints. */
  released: number;
  /** The signal's reason when the protocol was interrupted, else null. */
  interrupted: string | null;
  runs: RunRecord[];
}

/** A run whose lease is lost more often than this in one invocation counts as failed (exit status 1). */
const MAX_LEASE_LOSSES = 3;

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve) => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

/**
 * Runs (or resumes) a protocol.
 * @throws Interrupted in a tslab kernel after Kernel > Interrupt (its runs released, resumable)
 * @throws ConfigError / StoreError / DataFileError before any training on bad input (the store is checked before the data)
 */
export async function runProtocol(given: RunProtocolOptions): Promise<ProtocolResult> {
  const settings = resolveRunSettings(given); // checked once: the drain, its workers and the training loop trust it
  const kernelSignal = given.signal ? undefined : kernelInterruptSignal();
  const options = kernelSignal ? { ...given, signal: kernelSignal } : given;
  const result = await drainProtocol(settings, options);
  if (kernelSignal && result.interrupted) {
    const kept = result.runs.filter((r) => FINISHED_STATUSES.has(r.status)).length;
    throw new Interrupted(`Kernel > Interrupt: protocol ${result.protocol} stopped; ${result.released} run${result.released === 1 ? '' : 's'} released, ` +
      `resumable from ${result.released === 1 ? 'its' : 'their'} last checkpoint; ${kept} finished run${kept === 1 ? '' : 's'} kept in the store. Run the cell again to continue.`);
  }
  return result;
}

/** Hooks of a drain: everything of RunProtocolOptions that is not a setting. */
type DrainHooks = Pick<RunProtocolOptions, 'signal' | 'log' | 'onEpoch' | 'progressBar'>;

async function drainProtocol(settings: RunSettings, options: DrainHooks): Promise<ProtocolResult> {
  const { protocol, backend, lease, results: location } = settings;
  const log = options.log ?? ((l: string) => console.log(l));
  const threadsChoice = settings.threads;
  // the store is checked (refused if foreign, newer or read-only) before the data; a new SQLite file is created only after it
  const early = await checkResultsStore(location, { log });
  let store = early;
  try {
    const located = protocolDataFolder(protocol, settings.data);
    const dataset = loadCifar10(located.dir); // verifies every file (size, md5, labels) before training
    log(`data: ${located.description}: ${dataset.train.count} training-file images, ${dataset.test.count} test images, md5 verified`);
    const expansion = expandProtocol(protocol, dataset.manifest.name, dataset.train.count, settings.overrides, dataset.test.count);
    const { warnings } = expansion;
    if (protocol.data === 'any' && dataset.manifest.name !== 'cifar-10') {
      warnings.unshift(`protocol ${protocol.name} is defined on the full CIFAR-10 set, but the data found is "${dataset.manifest.name}" ` +
        `(${dataset.train.count} training images): results will not be comparable to the study. Use --data DIR, CIFAR10_DIR, or npm run data:cifar10`);
    }
    warnings.forEach((w) => log(`warning: ${w}`));
    store ??= await openResultsStore(location, { log });
    if (store.created) log(`initialised a new results store: ${store.location}`);
    if (settings.runIndex !== undefined && !(Number.isInteger(settings.runIndex) && settings.runIndex >= 0 && settings.runIndex < expansion.runs.length)) {
      throw new ConfigError(`--run-index must be an integer in 0..${expansion.runs.length - 1} (protocol ${protocol.name} has ${expansion.runs.length} runs), got ${String(settings.runIndex)}`);
    }
    await store.planRuns(expansion.runs.map((c, position) => ({ runId: runId(c), protocol: c.protocol, arm: c.arm, seed: c.seed, position, config: c as unknown as Record<string, unknown> })));
    const runs = settings.runIndex !== undefined ? [expansion.runs[settings.runIndex]] : expansion.runs;
    const stored = new Map((await store.listRuns({ protocol: protocol.name })).map((r) => [r.runId, r]));
    const pending = runs.filter((c) => !FINISHED_STATUSES.has(stored.get(runId(c))?.status ?? ''));
    const skippedAtStart = runs.length - pending.length;
    log(`protocol ${protocol.name}: ${runs.length} run${runs.length === 1 ? '' : 's'}${settings.runIndex !== undefined ? ` (run index ${settings.runIndex} of ${expansion.runs.length})` : ''} ` +
      `(${[...new Set(runs.map((c) => c.arm))].join(', ')}), ${skippedAtStart} already finished, ${pending.length} to train; results in ${store.location}`);

    const printer = progressPrinter(options.progressBar ?? !!process.stdout.isTTY, log);
    const workers = Math.min(settings.workers, pending.length, settings.maxRuns ?? Infinity);
    // the tfjs-node backends have no data-parallel trainer: auto gives them 1 thread
    const threads = threadsChoice === 'auto' && !runsThreads(backend) ? 1 : resolveThreads(threadsChoice, { cores: availableCpus().count, slots: Math.max(1, workers) });
    if (pending.length) {
      // the cost, priced at a throughput measured here before anything is trained (a few SGD steps, ~3 s)
      const c = pending[0];
      const images = {
        train: trainImagesUsed(dataset.train.count, c.data.validationCount, c.data.trainFraction),
        evaluated: c.data.validationCount + (c.data.testCount ?? dataset.test.count),
      };
      // images per second hardly depend on the batch beyond a few dozen; a batch of at most 256 keeps the measurement small
      const batchSize = Math.max(1, Math.min(c.batchSize, images.train, 256));
      const speed = await measureThroughput({ backend, steps: 2, warmup: 1, batchSize, evalImages: 200 });
      const parallel = { workers: Math.max(1, workers), threads };
      const cost = protocolCost(pending.map((p) => ({ config: p, epochsDone: stored.get(runId(p))?.checkpointEpoch ?? 0 })), images, speed, parallel);
      log(costText(cost, speed, parallel));
    }
    const execute = { dataDir: located.dir, backend, ...lease, skipFailedSince: await store.now(), threads, threadsAuto: threadsChoice === 'auto' };
    const slotOptions = {
      execute, results: location, store, log: (l: string) => printer.line(l),
      onEpoch: (record: EpochRecord, config: RunConfig) => {
        printer.line(formatEpoch(record, config));
        options.onEpoch?.(record, config);
      },
      onProgress: printer.update,
    };
    const slots: RunSlot[] = workers <= 0
      ? (pending.length ? [inProcessSlot(slotOptions)] : [])
      : Array.from({ length: workers }, () => processSlot(slotOptions));
    const cpus = availableCpus();
    const perRun = `${threads} thread${threads > 1 ? 's' : ''} per run${threadsChoice === 'auto' ? ` (--threads auto: ${cpus.count} CPU${cpus.count === 1 ? '' : 's'}, ${cpus.limitedBy})` : ''}`;
    const engine = describeEngine(backend);
    if (workers > 0) log(`training in ${workers} worker process${workers > 1 ? 'es' : ''} (backend ${engine}, ${perRun})`);
    else if (pending.length && threads > 1) log(`training in this process (backend ${engine}, ${perRun})`);

    const counts = { trained: 0, skipped: skippedAtStart, failed: 0, released: 0 };
    let interrupted: string | null = null;
    const onAbort = () => {
      interrupted = String(options.signal?.reason ?? 'interrupted');
      slots.forEach((s) => s.stop(interrupted!));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();

    // the drain: a queue of runs to try; runs held by live leases elsewhere wait and are tried again
    const queue = [...pending];
    const held: RunConfig[] = [];
    let busy = 0;
    let claimed = 0;
    let waitingSaid = '';
    const poll = Math.min(5000, (lease.leaseSeconds * 1000) / 4);
    const tag = (c: RunConfig) => `[${c.protocol} ${c.arm} seed ${c.seed}]`;
    const leaseLosses = new Map<string, number>();
    const record = async (c: RunConfig, o: SlotOutcome) => {
      printer.done(runId(c));
      if (o.result === 'diverged') {
        const error = (await store!.getRun(runId(c)))?.error;
        if (error) o = { ...o, result: 'diverged', reason: error };
      }
      switch (o.result) {
        case 'held': held.push(c); return;
        case 'skipped': counts.skipped++; log(`${tag(c)} skipped: ${o.reason ?? 'finished by another worker'}`); return;
        case 'released': counts.released++; log(`${tag(c)} released: resumable from its last checkpoint`); return;
        case 'lease-lost': {
          // taken over, or cut off from the store past its lease: nobody may hold it now (a dead
          // owner's run would never finish under --run-index), so claim it again; a live holder
          // makes it 'held' (waited for), a finished run 'skipped'
          const n = (leaseLosses.get(runId(c)) ?? 0) + 1;
          leaseLosses.set(runId(c), n);
          if (n > MAX_LEASE_LOSSES) {
            counts.failed++;
            log(`${tag(c)} failed: run ${runId(c)} lost its lease ${n} times in this invocation; giving up on it (exit status 1, so that a scheduler retries it)`);
            return;
          }
          log(`${tag(c)} lease lost: claiming run ${runId(c)} again (it resumes from its checkpoint unless another worker holds it now)`);
          queue.push(c);
          return;
        }
        case 'failed': counts.failed++; log(`${tag(c)} failed: ${o.reason ?? ''}`); return;
        default: counts.trained++; log(`${tag(c)} ${o.result}${o.reason ? `: ${o.reason}` : ''}`);
      }
    };
    await Promise.all(slots.map(async (slot) => {
      for (;;) {
        if (interrupted || (settings.maxRuns !== undefined && claimed >= settings.maxRuns)) return;
        const c = queue.shift();
        if (!c) {
          if (held.length === 0 && busy === 0) return;
          if (held.length && !busy) {
            const said = `waiting for ${held.length} run${held.length > 1 ? 's' : ''} held by other workers (taken over if a lease expires)`;
            if (said !== waitingSaid) log(said);
            waitingSaid = said;
          }
          await sleep(poll, options.signal);
          if (busy === 0 || queue.length === 0) queue.push(...held.splice(0));
          continue;
        }
        busy++;
        const outcome = await slot.run(c);
        busy--;
        if (outcome.result !== 'held' && outcome.result !== 'skipped' && outcome.result !== 'lease-lost') claimed++;
        if (outcome.result !== 'held') waitingSaid = '';
        await record(c, outcome);
      }
    }));
    options.signal?.removeEventListener('abort', onAbort);
    await Promise.all(slots.map((s) => s.close()));
    printer.clear();
    const ids = new Set(runs.map(runId));
    const result = (await store.listRuns({ protocol: protocol.name })).filter((r) => ids.has(r.runId));
    return { protocol: protocol.name, dataDir: located.dir, resultsPath: store.location, ...counts, interrupted, runs: result };
  } finally {
    await store?.close();
  }
}
