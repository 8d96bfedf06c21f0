/**
 * A protocol invocation's settings, resolved and checked once at the boundary (the CLI, the notebook
 * API runProtocol, a protocol file, a --run-index task) into one frozen value that the runner, its
 * worker processes and the training loop take as it is. Each rule lives in one function here: the
 * backend (backendSetting), the thread count (threadsSetting, resolveThreads), the lease and
 * checkpoint defaults (leaseSettings), the data folder (protocolDataFolder); the results store's
 * location is resolveResultsLocation's (src/store/location.ts).
 */
import { EMBEDDED_DATA_DIR, locateCifar10 } from '../data/locate';
import { BACKEND_CHOICES, threadsProblem, type BackendChoice } from '../engine/engine';
import { resolveResultsLocation } from '../store/location';
import { ConfigError, LIMITS } from '../train/config';
import { checkBackendInstalled } from './backend-check';
import { availableCpus } from './cpus';
import { getProtocol, type ProtocolOverrides, type ProtocolSpec } from './protocols';

/** How runs are held and saved (CLI: --lease-seconds, --heartbeat-seconds, --checkpoint-every). */
export interface LeaseOptions {
  /** A lease not renewed for this long may be taken over (default 120). */
  leaseSeconds: number;
  /** Seconds between lease renewals (default 30). */
  heartbeatSeconds: number;
  /** Epochs between checkpoints (default 1). */
  checkpointEvery: number;
}

export const DEFAULT_LEASE: LeaseOptions = { leaseSeconds: 120, heartbeatSeconds: 30, checkpointEvery: 1 };

/**
 * The lease rule: each setting left out (or undefined) taken from DEFAULT_LEASE; the heartbeat must
 * be positive and shorter than the lease (else a lease expires between two renewals).
 * @throws ConfigError naming both values (and whether the heartbeat is the default)
 */
export function leaseSettings(given: Partial<LeaseOptions> = {}): Readonly<LeaseOptions> {
  const lease = {
    leaseSeconds: given.leaseSeconds ?? DEFAULT_LEASE.leaseSeconds,
    heartbeatSeconds: given.heartbeatSeconds ?? DEFAULT_LEASE.heartbeatSeconds,
    checkpointEvery: given.checkpointEvery ?? DEFAULT_LEASE.checkpointEvery,
  };
  if (!(lease.heartbeatSeconds > 0 && lease.leaseSeconds > lease.heartbeatSeconds)) {
    throw new ConfigError(`--lease-seconds (${lease.leaseSeconds}) must be longer than --heartbeat-seconds (${lease.heartbeatSeconds}${given.heartbeatSeconds === undefined ? ', the default' : ''})`);
  }
  return Object.freeze(lease);
}

/** The backends the command line offers for training ('cpu', pure JavaScript, is far too slow). */
export const TRAINING_BACKENDS: readonly BackendChoice[] = BACKEND_CHOICES.filter((b) => b !== 'cpu');

/**
 * The backend rule: a known choice (default 'auto'); resolveRunSettings then checks that a forced one
 * is installed as itself (checkBackendInstalled).
 * @param o.training the command line's rule: 'cpu' is refused and the choices named are TRAINING_BACKENDS
 * @throws ConfigError for an unknown backend (naming the choices), or 'cpu' under o.training
 */
export function backendSetting(backend: string | undefined, o: { training?: boolean } = {}): BackendChoice {
  const b = (backend ?? 'auto') as BackendChoice;
  if (!BACKEND_CHOICES.includes(b)) throw new ConfigError(`unknown backend "${backend}"; expected one of ${(o.training ? TRAINING_BACKENDS : BACKEND_CHOICES).join(', ')}`);
  if (o.training && b === 'cpu') throw new ConfigError('backend "cpu" (pure JavaScript) needs minutes per batch and is not used for training; use wasm');
  return b;
}

/**
 * The thread-count rule of an invocation: 'auto' (default) or an integer in 1..LIMITS.threads, and
 * more than one thread only on a backend that can synchronise batch norm across threads
 * (threadsProblem: wasm, onednn, or auto).
 * @throws ConfigError naming the value, or the backend that cannot take it
 */
export function threadsSetting(choice: number | 'auto' | undefined, backend: BackendChoice): number | 'auto' {
  if (choice === undefined || choice === 'auto') return 'auto';
  resolveThreads(choice, { cores: 1, slots: 1 });
  const problem = threadsProblem(choice, backend);
  if (problem) throw new ConfigError(`--${problem}`);
  return choice;
}

/**
 * Threads per run of one invocation, resolved once before any run is claimed. A number is used as
 * given (1..LIMITS.threads). 'auto' divides the cores among the runs trained at once:
 * floor(cores / slots), at least 1, where slots = min(workers, pending runs, max runs) (1 when
 * training in this process). With the default workers (one per core) that is 1 thread per run
 * while a protocol has at least as many pending runs as cores (processes already use every core),
 * and cores / pending runs threads for its last few runs, or a single run in a notebook.
 * @param o.cores cores available to this process (defaultWorkers())
 * @param o.slots runs trained at once by this invocation (>= 1)
 * @throws ConfigError when a number is not an integer in 1..LIMITS.threads
 */
export function resolveThreads(choice: number | 'auto', o: { cores: number; slots: number }): number {
  if (choice === 'auto') return Math.max(1, Math.min(LIMITS.threads, Math.floor(o.cores / Math.max(1, o.slots))));
  if (!Number.isInteger(choice) || choice < 1 || choice > LIMITS.threads) {
    throw new ConfigError(`threads must be an integer in 1..${LIMITS.threads} or "auto", got ${String(choice)}`);
  }
  return choice;
}

/** Default number of workers: the CPUs this process may use (affinity, cgroup quota, SLURM_CPUS_PER_TASK; see availableCpus). */
export function defaultWorkers(): number {
  return availableCpus().count;
}

/**
 * The data-folder rule: the folder given (--data, a notebook's data_dir), else the embedded subset
 * for a protocol defined on it, else the CIFAR-10 folder found by locateCifar10 (CIFAR10_DIR, data/...).
 * @returns the folder and a sentence saying where it comes from
 * @throws DataFileError (locateCifar10) when no CIFAR-10 folder is found
 */
export function protocolDataFolder(protocol: Pick<ProtocolSpec, 'name' | 'data'>, given?: string): { dir: string; description: string } {
  return protocol.data === 'embedded' && !given
    ? { dir: EMBEDDED_DATA_DIR, description: `embedded CIFAR-10 subset at ${EMBEDDED_DATA_DIR} (protocol ${protocol.name} uses it unless --data is given)` }
    : locateCifar10(given);
}

/** What a protocol invocation is asked to do, before it is checked (runProtocol's options, the CLI's values). */
export interface RunSettingsInput {
  protocol: string | ProtocolSpec;
  overrides?: ProtocolOverrides;
  /** Results store: SQLite path or postgres:// URL (default RESULTS_URL, else data/results.sqlite). */
  results?: string;
  /** CIFAR-10 directory (--data); default: see protocolDataFolder. */
  data?: string;
  backend?: BackendChoice;
  /** Parallel worker processes (default: one per core, at most one per pending run); 0 = train in this process. */
  workers?: number;
  /**
   * Threads of each run started from epoch 1 (see resolveThreads): a number, or 'auto' (default):
   * the cores divided among the runs this invocation trains at once. A resumed run continues with
   * the thread count recorded in its checkpoint.
   */
  threads?: number | 'auto';
  /** Lease and checkpoint settings (defaults: lease 120 s, heartbeat 30 s, checkpoint every epoch). */
  lease?: Partial<LeaseOptions>;
  /** Train only run I (0-based) of the protocol's expansion (Slurm array task, Kubernetes completion index). */
  runIndex?: number;
  /** Stop after this many runs trained by this invocation. */
  maxRuns?: number;
}

/** An invocation's settings, checked: what the runner, its workers and the training loop trust. */
export interface RunSettings {
  readonly protocol: ProtocolSpec;
  readonly overrides: Readonly<ProtocolOverrides>;
  /** The results store's location (resolveResultsLocation: a URL, or an absolute file path). */
  readonly results: string;
  /** --data as given (protocolDataFolder decides the folder once the protocol's data is known). */
  readonly data: string | undefined;
  readonly backend: BackendChoice;
  /** 'auto' or a checked count (threadsSetting); resolved per invocation by resolveThreads. */
  readonly threads: number | 'auto';
  /** Worker processes asked for (default defaultWorkers()); 0 = in this process. */
  readonly workers: number;
  readonly lease: Readonly<LeaseOptions>;
  readonly runIndex: number | undefined;
  readonly maxRuns: number | undefined;
}

/**
 * Resolves and checks an invocation's settings once, before anything is read or written: the
 * protocol (by name or as given), the backend, the threads against the backend, the lease, the
 * results store's location.
 * @returns a frozen RunSettings
 * @throws ConfigError (unknown protocol or backend, bad threads or lease) or StoreError (a mistyped store URL)
 */
export function resolveRunSettings(input: RunSettingsInput): RunSettings {
  const protocol = typeof input.protocol === 'string' ? getProtocol(input.protocol) : input.protocol;
  const backend = backendSetting(input.backend);
  checkBackendInstalled(backend);
  const threads = threadsSetting(input.threads, backend);
  const lease = leaseSettings(input.lease);
  return Object.freeze({
    protocol, overrides: Object.freeze({ ...(input.overrides ?? {}) }), results: resolveResultsLocation(input.results), data: input.data,
    backend, threads, workers: input.workers ?? defaultWorkers(), lease, runIndex: input.runIndex, maxRuns: input.maxRuns,
  });
}
