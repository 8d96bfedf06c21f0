/**
 * `experiment --protocol NAME | --protocol-file FILE.json`: trains (or resumes) a protocol into the
 * results store; SIGINT/SIGTERM stop every run within an iteration and release it, resumable.
 */
import { runProtocol } from '../runs/runner';
import { backendSetting, TRAINING_BACKENDS } from '../runs/settings';
import { getProtocol, PROTOCOLS } from '../runs/protocols';
import { loadProtocolFile } from '../runs/protocol-file';
import { DATA, int, num, OVERRIDES, overridesFrom, PROTOCOL, RESULTS, str, usage, UsageError, type Command, type OptionSpecs, type Values } from './options';

/** The options of a training invocation (experiment, start). */
export const TRAINING: OptionSpecs = {
  ...PROTOCOL, ...OVERRIDES,
  backend: { type: 'string', value: TRAINING_BACKENDS.join('|'), help: 'tfjs backend (default auto)' },
  workers: { type: 'string', value: 'N', help: 'worker processes (default one per core; 0: train in this process)' },
  threads: { type: 'string', value: 'N|auto', help: 'threads per run (wasm or onednn; default auto: floor(cores / runs trained at once))' },
  ...DATA, ...RESULTS,
  'checkpoint-every': { type: 'string', value: 'N', help: 'epochs between checkpoints (default 1; 0: none)' },
  'lease-seconds': { type: 'string', value: 'S', help: 'a lease not renewed for S seconds is taken over (default 120)' },
  'heartbeat-seconds': { type: 'string', value: 'S', help: 'seconds between lease renewals (default 30)' },
  'run-index': { type: 'string', value: 'I', help: 'train only run I of the expansion (protocols --runs lists them)' },
  'max-runs': { type: 'string', value: 'K', help: 'stop after K runs trained' },
};

/** --threads: `auto` (default) or an integer in 1..LIMITS.threads. @throws UsageError naming the value as given */
function threadsFrom(v: Values): number | 'auto' {
  const t = str(v.threads);
  if (t === undefined || t === 'auto') return 'auto';
  if (!/^\d+$/.test(t) || Number(t) < 1) throw new UsageError(`--threads must be "auto" or an integer >= 1, got "${t}"`);
  return int(t, 'threads', 1)!;
}

/**
 * Trains a protocol from the command line's values (the protocol named by `protocolName` unless
 * --protocol-file is given); settings are checked by runProtocol (resolveRunSettings) before anything is read.
 * Sets the exit status: 1 when a run failed, 130/143 after SIGINT/SIGTERM.
 * @throws UsageError / ConfigError / StoreError before any training on bad input
 */
export async function trainFromCommandLine(v: Values, protocolName: string): Promise<void> {
  // unknown protocol or bad protocol file -> error before anything
  const file = str(v['protocol-file']);
  const protocol = file ? loadProtocolFile(file) : getProtocol(protocolName);
  const started = Date.now();
  const controller = new AbortController();
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
    protocol, overrides: overridesFrom(v), results: str(v.results), data: str(v.data), backend: usage(() => backendSetting(str(v.backend), { training: true })),
    workers: int(v.workers, 'workers', 0), threads: threadsFrom(v), signal: controller.signal,
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

export const experiment: Command = {
  name: 'experiment',
  synopsis: `  experiment --protocol NAME     train or resume a protocol (${Object.keys(PROTOCOLS).join(', ')})
      [--seeds N] [--max-epochs N] [--target X] [--fraction F] [--arms a,b] [--batch-size N]
      [--backend ${TRAINING_BACKENDS.join('|')}] [--workers N] [--threads N|auto] [--data DIR] [--results FILE|URL]
      [--checkpoint-every N (0: none)] [--lease-seconds S (120)] [--heartbeat-seconds S (30)] [--run-index I] [--max-runs K]
  experiment --protocol-file FILE.json   a custom protocol (own schedules; format in src/runs/protocol-file.ts), same options`,
  options: TRAINING,
  run(v) {
    const [name, file] = [str(v.protocol), str(v['protocol-file'])];
    if (name && file) throw new UsageError('give --protocol or --protocol-file, not both');
    if (file) return trainFromCommandLine(v, '');
    if (!name) throw new UsageError(`experiment needs --protocol (${Object.keys(PROTOCOLS).join(', ')})`);
    return trainFromCommandLine(v, name);
  },
};
