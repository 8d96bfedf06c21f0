/**
 * `npm run fidelity`: does the workspace train ResNet-20 the way an independent trainer does? Trains S
 * seeds of a protocol arm on each side, the workspace (trainRun, this process) and PyTorch
 * (scripts/fidelity_torch.py, Debian python3-torch, written from the papers, sharing none of the
 * workspace's code or random streams), on the same images (the workspace's train/validation split of
 * the full CIFAR-10, the same first N training images and test images), and compares the validation
 * accuracy epoch by epoch: per side the mean and standard deviation over seeds, the difference
 * (workspace - PyTorch) with a 95% Welch interval. An epoch agrees when its interval contains 0 or
 * the mean difference is under 1 percentage point; the curves agree when every epoch does.
 *
 * The two sides train at once (one workspace run in this process, one PyTorch process, a core each).
 * `--workspace-results STORE` takes the workspace side from the protocol's runs in a results store
 * (e.g. the study's, seeds 0..S-1, their first E epochs) instead of training it again;
 * `--pytorch-log FILE` keeps every PyTorch epoch (JSON lines) and reuses those of an earlier call, and a
 * checkpoint per seed after every epoch (FILE.checkpoints/), from which a call cut off part-way resumes;
 * one call at a time trains into a log (FILE.lock names the process: a second call is an error
 * naming it, since two would train the same seed into one checkpoint). `--compare-only` trains
 * nothing: it compares what the store and the log hold (with --workspace-results and --pytorch-log),
 * e.g. while scripts/study/train.sh trains both sides.
 * Last line: one JSON object (epochs, seeds, workspace, pytorch, difference, ci95, ciSimultaneous, level, agree, ...).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { locateCifar10, PROJECT_ROOT } from '../data/locate';
import { splitIndices } from '../data/split';
import { selectEngine } from '../engine/engine';
import { trainRun } from '../train/loop';
import { runId, trainImagesUsed, type RunConfig } from '../train/config';
import { loadDatasetCached, prepareRunData } from '../runs/prepare';
import { expandProtocol, getProtocol } from '../runs/protocols';
import { openResultsStore } from '../store';
import { compareCurves, formatComparison, type Curves } from './fidelity-compare';

const USAGE = 'usage: npm run fidelity [-- --epochs E (5) --seeds S (3) --train-images N (10000) --arm NAME (step) ' +
  '--protocol NAME (race-to-85) --test-count N (1000; 0 = all) --data DIR --python PATH --workspace-results STORE --pytorch-log FILE --compare-only]';

interface Options {
  epochs: number; seeds: number; trainImages: number; arm: string; protocol: string; testCount: number | null;
  data?: string; python: string; workspaceResults?: string; pytorchLog?: string; compareOnly: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values: v } = parseArgs({
    args: argv, strict: true, options: {
      epochs: { type: 'string' }, seeds: { type: 'string' }, 'train-images': { type: 'string' }, arm: { type: 'string' },
      protocol: { type: 'string' }, 'test-count': { type: 'string' }, data: { type: 'string' }, python: { type: 'string' },
      'workspace-results': { type: 'string' }, 'pytorch-log': { type: 'string' }, 'compare-only': { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (v.help) { console.log(USAGE); process.exit(0); }
  const int = (name: string, s: string | undefined, dflt: number, min: number, max: number) => {
    if (s === undefined) return dflt;
    const n = Number(s);
    if (!/^\d+$/.test(s) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}, got ${s}`);
    return n;
  };
  const testCount = int('test-count', v['test-count'], 1000, 0, 10000);
  if (v['compare-only'] && !(v['workspace-results'] && v['pytorch-log'])) throw new Error('--compare-only compares what is there: it needs --workspace-results STORE and --pytorch-log FILE');
  return {
    epochs: int('epochs', v.epochs, 5, 1, 200), seeds: int('seeds', v.seeds, 3, 2, 20),
    trainImages: int('train-images', v['train-images'], 10000, 128, 45000), arm: v.arm ?? 'step',
    protocol: v.protocol ?? 'race-to-85', testCount: testCount === 0 ? null : testCount, data: v.data,
    python: v.python ?? '/usr/bin/python3', workspaceResults: v['workspace-results'], pytorchLog: v['pytorch-log'], compareOnly: v['compare-only'] ?? false,
  };
}

/** The configurations of the workspace side: the protocol's arm, seeds 0..S-1, E epochs, N images, no stop at the target. */
function configsFor(o: Options, dataset: string, trainFileCount: number): RunConfig[] {
  const protocol = getProtocol(o.protocol);
  if (protocol.data !== 'any') throw new Error(`--protocol ${o.protocol} trains on the embedded subset; fidelity needs a protocol of the full set (race-to-85, full-182)`);
  const validation = typeof protocol.validationCount === 'number' ? protocol.validationCount : Math.round(trainFileCount / 10);
  const available = trainImagesUsed(trainFileCount, validation, 1);
  if (o.trainImages > available) throw new Error(`--train-images ${o.trainImages}: the split leaves ${available} training images`);
  const { runs } = expandProtocol(protocol, dataset, trainFileCount, { arms: [o.arm], seeds: o.seeds, maxEpochs: o.epochs, trainFraction: o.trainImages / available });
  return runs.map((c) => ({ ...c, target: null, stopAtTarget: false, data: { ...c.data, testCount: o.testCount } }));
}

type Epoch = { epoch: number; validationAccuracy: number };

/**
 * The epochs 1, 2, ... of the last call in a PyTorch log's records of one seed (from its last epoch 1
 * on; a resumed call adds the epochs after its checkpoint, and an epoch trained again replaces the
 * earlier line), up to the first missing epoch.
 */
function lastCall(records: Epoch[]): Epoch[] {
  const byEpoch = new Map<number, Epoch>();
  for (const r of records.slice(Math.max(0, records.map((x) => x.epoch).lastIndexOf(1)))) byEpoch.set(r.epoch, r);
  const out: Epoch[] = [];
  for (let e = 1; byEpoch.has(e); e++) out.push(byEpoch.get(e)!);
  return out;
}

/**
 * PyTorch side of one seed: scripts/fidelity_torch.py, its JSON lines (kept in --pytorch-log, and its
 * checkpoint after every epoch beside it, FILE.checkpoints/KEY.pt, so that a call cut off part-way
 * resumes after its last epoch).
 */
async function pytorchRun(o: Options, c: RunConfig, dir: string, splitFile: string, log: (l: string) => void): Promise<Epoch[]> {
  const key = JSON.stringify({ arm: c.arm, seed: c.seed, schedule: c.schedule, trainImages: o.trainImages, testCount: o.testCount, validation: c.data.validationCount });
  const logged = () => o.pytorchLog && fs.existsSync(o.pytorchLog)
    ? fs.readFileSync(o.pytorchLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { key: string; record: Epoch })
      .filter((x) => x.key === key).map((x) => x.record)
    : [];
  const cached = lastCall(logged());
  if (cached.length >= o.epochs || o.compareOnly) return cached.slice(0, o.epochs);
  const args = [path.join(PROJECT_ROOT, 'scripts', 'fidelity_torch.py'), '--data', dir, '--split', splitFile, '--seed', String(c.seed),
    '--epochs', String(o.epochs), '--schedule', JSON.stringify(c.schedule), '--threads', '1'];
  if (o.testCount !== null) args.push('--test-count', String(o.testCount));
  const checkpoint = o.pytorchLog && path.join(`${o.pytorchLog}.checkpoints`, `${createHash('sha256').update(key).digest('hex').slice(0, 16)}.pt`);
  if (checkpoint) {
    fs.mkdirSync(path.dirname(checkpoint), { recursive: true });
    args.push('--checkpoint', checkpoint);
  }
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE; delete env.OPENBLAS_L2_SIZE; // PyTorch at its best (this command only)
  const child = spawn(o.python, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Epoch[] = [...cached];
  let buf = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i); buf = buf.slice(i + 1);
      if (!line.startsWith('{')) continue;
      const r = JSON.parse(line) as Epoch & { seconds: number };
      if (r.epoch > out.length + 1) {
        err += `${checkpoint} resumes after epoch ${r.epoch - 1} but ${o.pytorchLog} has this seed's epochs only up to ${out.length}: remove the checkpoint to train the seed again\n`;
        child.kill();
        return;
      }
      out.splice(r.epoch - 1, out.length, r);
      if (o.pytorchLog) fs.appendFileSync(o.pytorchLog, JSON.stringify({ key, record: r }) + '\n');
      log(`[pytorch ${c.arm} seed ${c.seed}] epoch ${r.epoch}/${o.epochs}  val acc ${(100 * r.validationAccuracy).toFixed(2)}%  ${r.seconds.toFixed(0)} s`);
    }
  });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0 || out.length < o.epochs) {
    throw new Error(`PyTorch side (${o.python} scripts/fidelity_torch.py, seed ${c.seed}) exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`);
  }
  return out;
}

/**
 * Takes FILE.lock for this process (its pid in it), so that one call at a time trains into a PyTorch
 * log; a lock left by a process that no longer runs is taken over.
 * @returns a function that releases it
 * @throws Error naming the lock file and the pid that holds it
 */
function lockLog(file: string): () => void {
  const lock = `${file}.lock`;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(lock, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(fs.readFileSync(lock, 'utf8'));
      let alive = false;
      try { alive = Number.isInteger(pid) && pid > 0 && process.kill(pid, 0); } catch { alive = false; }
      if (alive) throw new Error(`${file} is being trained into by process ${pid} (${lock}); wait for it, or compare what is there with --compare-only`);
      fs.rmSync(lock, { force: true });
    }
  }
}

/**
 * Workspace side from a results store: the runs of the protocol's arm with these configurations' seeds,
 * their first E epochs (fewer, or none, while the store's runs are still training).
 */
async function fromStore(o: Options, configs: RunConfig[]): Promise<Epoch[][]> {
  const store = await openResultsStore(o.workspaceResults!, { readonly: true });
  try {
    const out: Epoch[][] = [];
    for (const c of configs) {
      const runs = (await store.listRuns({ protocol: o.protocol, arm: o.arm })).filter((r) => r.seed === c.seed);
      const want = runs.find((r) => {
        const d = (r.config as { data?: RunConfig['data'] }).data;
        return d && d.validationCount === c.data.validationCount && d.splitSeed === c.data.splitSeed && d.testCount === c.data.testCount
          && trainImagesUsed(50000, d.validationCount, d.trainFraction) === o.trainImages;
      });
      const epochs = want ? (await store.listEpochs([want.runId])).sort((a, b) => a.epoch - b.epoch).slice(0, o.epochs) : [];
      out.push(epochs);
    }
    return out;
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const started = Date.now();
  const log = (l: string) => console.log(l);
  const loc = locateCifar10(o.data);
  const ds = loadDatasetCached(loc.dir);
  if (ds.train.count !== 50000) throw new Error(`${loc.dir}: fidelity needs the full CIFAR-10 (50,000 training images), found ${ds.train.count}; give --data or CIFAR10_DIR`);
  const configs = configsFor(o, ds.manifest.name, ds.train.count);
  const c0 = configs[0];
  // the split both sides use: the workspace's, record indices into data_batch_1..5; the first N training images (prepareRunData's rule)
  const split = splitIndices(ds.train.count, c0.data.validationCount, c0.data.splitSeed);
  const validation = split.validation;
  const train = split.train.slice(0, o.trainImages);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-fidelity-'));
  const splitFile = path.join(tmp, 'split.json');
  fs.writeFileSync(splitFile, JSON.stringify({ train, validation }));
  const engine = o.workspaceResults ? null : await selectEngine({ backend: 'auto' });
  log(`fidelity: ${o.protocol} arm ${o.arm}, ${o.seeds} seeds x ${o.epochs} epochs per side, ${o.trainImages} training / ${validation.length} validation / ` +
    `${o.testCount ?? 'all'} test images of ${loc.description}; workspace ${engine ? engine.backend : `from ${o.workspaceResults}`}, PyTorch ${o.python}`);
  const workspace: Epoch[][] = [];
  const pytorch: Epoch[][] = [];
  const unlock = o.pytorchLog && !o.compareOnly ? lockLog(o.pytorchLog) : () => undefined;
  try {
    if (o.workspaceResults) workspace.push(...await fromStore(o, configs));
    for (const c of configs) {
      const torchSide = pytorchRun(o, c, loc.dir, splitFile, log);
      if (!o.workspaceResults) {
        const data = prepareRunData(loc.dir, c.data);
        const run = await trainRun(runId(c), c, data, {
          onEpoch: (r) => log(`[workspace ${c.arm} seed ${c.seed}] epoch ${r.epoch}/${o.epochs}  val acc ${(100 * r.validationAccuracy).toFixed(2)}%  ${r.totalSeconds.toFixed(0)} s`),
        });
        workspace.push(run.epochs);
      }
      pytorch.push(await torchSide);
    }
  } finally {
    unlock();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  // a side read from a store or a log may hold fewer epochs than asked for while it is still training
  const sayShort = (side: string, curves: Epoch[][]) => {
    const short = curves.map((e, i) => ({ seed: configs[i].seed, n: e.length })).filter((x) => x.n < o.epochs);
    if (short.length) log(`${side}: ${short.map((x) => `seed ${x.seed} has ${x.n} of ${o.epochs} epochs`).join(', ')} so far`);
  };
  sayShort(`PyTorch side in ${o.pytorchLog}`, pytorch);
  if (o.workspaceResults) sayShort(`workspace side in ${o.workspaceResults}`, workspace);
  const curves: Curves = {
    workspace: workspace.map((e) => e.map((r) => r.validationAccuracy)),
    pytorch: pytorch.map((e) => e.map((r) => r.validationAccuracy)),
  };
  const result = compareCurves(curves);
  for (const line of formatComparison(result)) log(line);
  const minutes = (Date.now() - started) / 60000;
  log(`took ${minutes.toFixed(1)} min`);
  console.log(JSON.stringify({
    protocol: o.protocol, arm: o.arm, trainImages: o.trainImages, validationImages: validation.length, testCount: o.testCount,
    engine: engine ? engine.backend : `store ${o.workspaceResults}`, minutes: Number(minutes.toFixed(2)), ...result,
  }));
}

main().catch((e: Error) => {
  console.error(`fidelity: ${e.message}`);
  process.exit(1);
});
