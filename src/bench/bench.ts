/**
 * Training-speed bench: ResNet-20 on real CIFAR-10 batches (data_batch_1.bin records, random crop
 * + flip, batch 128) with the workspace's engine (auto: oneDNN convolutions when built, else the wasm kernels, unless told
 * otherwise), against the PyTorch CPU reference (scripts/pytorch_reference.py) in its best CPU
 * configuration (channels_last, threads = cores, OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset for that
 * command only) and in NCHW, all in the same invocation. The machine may be shared and noisy, so
 * the measurements alternate (workspace, PyTorch, workspace, PyTorch ...) over --rounds rounds and
 * every figure is a median with its min-max.
 *
 *   npm run bench                       # 3 rounds, a few minutes
 *   node dist/bench/bench.js --quick    # 1 round, ~1 minute
 *   node dist/bench/bench.js --help
 *
 * Prints progress lines, then as its LAST line one JSON object with imagesPerSecond (one run, one
 * core), oneRunAllCoresImagesPerSecond, machineImagesPerSecond (one process per core),
 * referenceBestImagesPerSecond, referenceNchwImagesPerSecond, ratio = machine / referenceBest,
 * their min-max, peakRssMB, loadAverage and backend, and the study's cost at these speeds (core-hours
 * and wall hours of race-to-85 at the original median epochs and of full-182, src/bench/study-cost.ts).
 */
import * as os from 'node:os';
import { type BenchOptions, type RunReport, runWorkers as runForked, workerMain } from './run';
import { studyCost, studyCostLines } from './study-cost';
import { OPENBLAS_UNSET, type Reference, formatSummary, pytorchReference, summarize, torchAvailable } from './reference';

export { findDataFile, runTraining, type BenchOptions, type RunReport } from './run';

const runWorkers = (count: number, argv: string[]) => runForked(__filename, count, argv);

const HELP = `Usage: node dist/bench/bench.js [options]
  --steps N           timed training steps per run (default 12; --quick: 8)
  --warmup N          untimed steps first (default 2)
  --rounds N          alternating rounds (workspace, PyTorch, ...) (default 3; --quick: 1)
  --threads N         threads of one run (default 1; the one-run-all-cores figure uses one per core)
  --no-all-cores      skip the one-run-all-cores figure
  --onednn-threads N  one run with N oneDNN threads in its convolutions (intra-op) instead of one
                      (with --no-machine --no-all-cores: compares against the replicas of --threads)
  --batch N           batch size (default 128)
  --workers N         processes for the whole-machine figure (default: one per core = ${os.cpus().length})
  --mem-every N       record tf.memory().numTensors every N steps (default 5)
  --backend NAME      engine: auto (default: oneDNN convolutions when built, else wasm), onednn, wasm,
                      tfjs-node, tfjs-node-gpu, cpu
  --trainer NAME      auto (workspace src/train/step.ts if present), workspace, minimal
  --data FILE         CIFAR-10 .bin file (default: data_batch_1.bin under CIFAR10_DIR,
                      data/cifar-10-batches-bin or ../shared/data/cifar-10-batches-bin)
  --reference-steps N PyTorch timed steps (default 12; --quick: 8)
  --python PATH       Python with torch (default /usr/bin/python3)
  --no-reference      skip PyTorch;  --no-machine  skip the whole-machine runs
  --quick             short run (1 round, ~1 minute)`;

export function parseArgs(argv: string[]): BenchOptions & { worker: boolean; help: boolean } {
  const quick = argv.includes('--quick');
  const o = {
    steps: quick ? 8 : 12, warmup: 2, batch: 128, rounds: quick ? 1 : 3, threads: 1, allCores: true, workers: os.cpus().length, memEvery: 5,
    backend: 'auto', trainer: 'auto' as BenchOptions['trainer'], data: undefined as string | undefined,
    reference: true, machine: true, referenceSteps: quick ? 8 : 12, python: '/usr/bin/python3',
    worker: false, help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = () => {
      const v = Number(next());
      if (!Number.isInteger(v) || v < 0) throw new Error(`${a} needs a non-negative integer`);
      return v;
    };
    switch (a) {
      case '--steps': o.steps = Math.max(1, int()); break;
      case '--warmup': o.warmup = int(); break;
      case '--batch': o.batch = Math.max(1, int()); break;
      case '--workers': o.workers = Math.max(1, int()); break;
      case '--mem-every': o.memEvery = Math.max(1, int()); break;
      case '--backend': o.backend = next(); break;
      case '--onednn-threads': (o as BenchOptions).onednnThreads = int(); break;
      case '--trainer': o.trainer = next() as BenchOptions['trainer']; break;
      case '--data': o.data = next(); break;
      case '--rounds': o.rounds = Math.max(1, int()); break;
      case '--threads': o.threads = Math.max(1, int()); break;
      case '--no-all-cores': o.allCores = false; break;
      case '--reference-steps': o.referenceSteps = Math.max(1, int()); break;
      case '--python': o.python = next(); break;
      case '--no-reference': o.reference = false; break;
      case '--no-machine': o.machine = false; break;
      case '--quick': break;
      case '--worker': o.worker = true; break;
      case '--help': case '-h': o.help = true; break;
      default: throw new Error(`unknown option ${a}\n${HELP}`);
    }
  }
  return o;
}

/** data_batch_1.bin: --data, CIFAR10_DIR, data/cifar-10-batches-bin, ../shared/data/cifar-10-batches-bin. */
const fmt = (v: number | null, d = 1) => (v === null || !Number.isFinite(v) ? 'n/a' : v.toFixed(d));
const sumIps = (rs: RunReport[]) => rs.reduce((s, r) => s + r.imagesPerSecond, 0);

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const o = parseArgs(argv);
  if (o.help) {
    console.log(HELP);
    return;
  }
  if (o.worker) {
    await workerMain(o);
    return;
  }
  const cores = os.cpus().length;
  const base = argv.filter((a) => a !== '--worker');
  const load0 = os.loadavg();
  console.log(`bench: ResNet-20, batch ${o.batch}, ${o.warmup} warm-up + ${o.steps} timed steps per measurement, ${o.rounds} alternating round(s), `
    + `backend ${o.backend}; ${cores} cores, load average ${load0.map((l) => l.toFixed(2)).join(' ')} `
    + '(other processes slow every figure down: compare figures of one invocation)');
  const why = o.reference ? torchAvailable(o.python) : 'skipped (--no-reference)';
  if (why) console.log(`PyTorch reference NOT measured: ${why}`);
  const single: RunReport[] = [];
  const allCores: RunReport[] = [];
  const machine: number[] = [];
  const machineRuns: RunReport[] = [];
  const best: Reference[] = [];
  const nchw: Reference[] = [];
  let dataFile = '';
  for (let round = 1; round <= o.rounds; round++) {
    const tag = `round ${round}/${o.rounds}:`;
    const [s] = await runWorkers(1, [...base, '--threads', '1']);
    single.push(s);
    dataFile = s.dataFile;
    console.log(`${tag} workspace, one run, one core: ${fmt(s.imagesPerSecond)} images/s (${fmt(s.stepMs, 0)} ms/step), trainer ${s.trainer}`);
    if (!why) {
      const r = pytorchReference(o, 'best', cores, dataFile);
      best.push(r);
      console.log(`${tag} PyTorch best (channels_last, ${cores} threads, ${OPENBLAS_UNSET.join('/')} unset): ${fmt(r.imagesPerSecond)} images/s${r.note ? ` (${r.note})` : ''}`);
    }
    if (o.allCores && cores > 1) {
      const [a] = await runWorkers(1, [...base, '--threads', String(cores)]);
      allCores.push(a);
      const w = a.synchronisation;
      console.log(`${tag} workspace, one run, ${cores} threads: ${fmt(a.imagesPerSecond)} images/s (${fmt(a.stepMs, 0)} ms/step), trainer ${a.trainer}`
        + (w ? `; ${fmt(w.barriersPerStep, 0)} barriers per step, waited ${w.waitedMsPerStep.map((x) => fmt(x, 1)).join(' / ')} ms per step` : ''));
    }
    if (!why) {
      const r = pytorchReference(o, 'nchw', cores, dataFile);
      nchw.push(r);
      console.log(`${tag} PyTorch NCHW (${cores} threads, environment unchanged): ${fmt(r.imagesPerSecond)} images/s${r.note ? ` (${r.note})` : ''}`);
    }
    if (o.machine) {
      const m = await runWorkers(o.workers, [...base, '--threads', '1']);
      machine.push(sumIps(m));
      machineRuns.push(...m);
      console.log(`${tag} workspace, whole machine, ${o.workers} processes: ${fmt(sumIps(m))} images/s (${m.map((r) => fmt(r.imagesPerSecond)).join(' + ')})`);
    }
  }
  const S = {
    one: summarize(single.map((r) => r.imagesPerSecond)),
    oneCpu: summarize(single.map((r) => r.imagesPerCpuSecond)),
    all: summarize(allCores.map((r) => r.imagesPerSecond)),
    allCpu: summarize(allCores.map((r) => r.imagesPerCpuSecond)),
    machine: summarize(machine),
    best: summarize(best.map((r) => r.imagesPerSecond)),
    nchw: summarize(nchw.map((r) => r.imagesPerSecond)),
  };
  const ratio = S.machine.median !== null && S.best.median ? S.machine.median / S.best.median : null;
  const speedup = S.all.median !== null && S.one.median ? S.all.median / S.one.median : null;
  // CPU efficiency of the all-cores run (images per CPU-second against one core's): on an idle
  // machine its speed-up is about cores x efficiency; on a loaded one the replicas, which wait for
  // each other at every batch norm, lose whole time slices
  const efficiency = S.allCpu.median !== null && S.oneCpu.median ? S.allCpu.median / S.oneCpu.median : null;
  const last = single[single.length - 1];
  const peak = Math.max(...single.map((r) => r.peakRssMB), ...allCores.map((r) => r.peakRssMB), ...machineRuns.map((r) => r.peakRssMB));
  const load1 = os.loadavg();
  console.log('summary (median (min-max, n)):');
  console.log(`  one run, one core:          ${formatSummary(S.one)} images/s`);
  console.log(`  one run, all ${cores} cores:      ${formatSummary(S.all)} images/s (x${fmt(speedup, 2)} one core; `
    + `CPU efficiency ${fmt(efficiency, 2)}: ${formatSummary(S.allCpu)} against ${formatSummary(S.oneCpu)} images per CPU-second)`);
  console.log(`  whole machine (${o.workers} runs):    ${formatSummary(S.machine)} images/s`);
  console.log(`  PyTorch best (channels_last): ${formatSummary(S.best)} images/s`);
  console.log(`  PyTorch NCHW:               ${formatSummary(S.nchw)} images/s`);
  // PyTorch's threads synchronise at every operator: on a busy machine they lose most, and the ratio flatters the workspace
  const busy = Math.max(load0[0], load1[0]) > cores / 2;
  const loadNote = busy ? `the machine was busy (load average ${load0[0].toFixed(2)} at the start, ${load1[0].toFixed(2)} at the end, on ${cores} cores): `
    + 'multi-threaded figures, PyTorch\'s most, are depressed and the ratio is not comparable to an idle machine\'s' : null;
  console.log(`  ratio whole machine / PyTorch best: ${fmt(ratio, 3)}${busy ? ' (unreliable: see the note)' : ''}`);
  if (loadNote) console.log(`  note: ${loadNote}`);
  console.log(`  data pipeline ${fmt(last.dataMsPerStep, 2)} ms/step (${fmt(100 * last.dataShare, 2)}%); peak RSS ${fmt(peak, 0)} MB; `
    + `numTensors ${last.numTensors.map((m) => `${m.step}:${m.tensors}`).join(' ')} (${last.tensorsFlat ? 'flat' : 'NOT FLAT'}); `
    + `load average at the end ${load1.map((l) => l.toFixed(2)).join(' ')}`);
  const evalIps = summarize(single.map((r) => r.evalImagesPerSecond).filter((v): v is number => v !== null)).median;
  const cost = S.one.median !== null && evalIps !== null
    ? studyCost({ trainImagesPerSecond: S.one.median, evalImagesPerSecond: evalIps, backend: last.backend }, S.machine.median) : null;
  if (cost) {
    console.log(`study cost at these medians (one core ${fmt(S.one.median)} training, ${fmt(evalIps)} evaluation images/s; `
      + `whole machine ${fmt(S.machine.median)} images/s; ${os.cpus()[0]?.model ?? 'CPU unknown'}, ${cores} cores):`);
    for (const line of studyCostLines(cost)) console.log(`  ${line}`);
  }
  console.log(JSON.stringify({
    imagesPerSecond: S.one.median,
    imagesPerSecondRange: [S.one.min, S.one.max],
    imagesPerCpuSecond: S.oneCpu.median,
    oneRunAllCoresImagesPerSecond: S.all.median,
    oneRunAllCoresRange: [S.all.min, S.all.max],
    oneRunAllCoresThreads: allCores.length ? cores : null,
    oneRunAllCoresSpeedup: speedup,
    oneRunAllCoresImagesPerCpuSecond: S.allCpu.median,
    oneRunAllCoresCpuEfficiency: efficiency,
    oneRunAllCoresWaitedMsPerStep: allCores.length && allCores[0].synchronisation
      ? summarize(allCores.map((r) => Math.max(...r.synchronisation!.waitedMsPerStep))).median : null,
    oneRunPeakRssMB: Math.max(...single.map((r) => r.peakRssMB)),
    oneRunAllCoresPeakRssMB: allCores.length ? Math.max(...allCores.map((r) => r.peakRssMB)) : null,
    machineImagesPerSecond: S.machine.median,
    machineRange: [S.machine.min, S.machine.max],
    machineWorkers: machine.length ? o.workers : null,
    referenceBestImagesPerSecond: S.best.median,
    referenceBestRange: [S.best.min, S.best.max],
    referenceNchwImagesPerSecond: S.nchw.median,
    referenceNchwRange: [S.nchw.min, S.nchw.max],
    referenceThreads: cores,
    ratio,
    referenceNote: why,
    loadNote,
    rounds: o.rounds,
    loadAverageStart: load0[0],
    loadAverageEnd: load1[0],
    cores,
    peakRssMB: peak,
    backend: last.backend,
    trainer: last.trainer,
    batch: o.batch,
    steps: o.steps,
    stepMs: last.stepMs,
    dataShare: last.dataShare,
    numTensors: last.numTensors.map((m) => m.tensors),
    tensorsFlat: last.tensorsFlat && allCores.every((r) => r.tensorsFlat),
    kernels: last.kernels,
    evalImagesPerSecond: evalIps,
    studyCost: cost,
    cpuModel: os.cpus()[0]?.model ?? null,
  }));
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
