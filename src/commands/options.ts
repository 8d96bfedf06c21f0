/**
 * The command line's parts shared by every command (src/commands/*.ts, one module per command):
 * the declaration of a command and its options, the option groups several commands take, the
 * parsing of integer and decimal option values, and `--help` generated from the declarations.
 * Parsing is Node's util.parseArgs (strict: an option a command does not declare is refused).
 */
import { parseArgs } from 'node:util';
import { ConfigError, LIMITS } from '../train/config';
import type { ProtocolOverrides } from '../runs/protocols';

/** A usage error: one line, exit code 2. */
export class UsageError extends Error {}

/** One option of a command: its parseArgs type, the placeholder of its value, one line of help. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** The value's placeholder in --help (string options), e.g. 'FILE|URL'. */
  value?: string;
  help: string;
}

export type OptionSpecs = Record<string, OptionSpec>;
/** Parsed option values, by option name as written (without the dashes). */
export type Values = Record<string, string | boolean | undefined>;

/** A command of the command line: its name, synopsis in the overall usage, options and action. */
export interface Command {
  name: string;
  /** Its lines of the overall usage (`node dist/cli.js --help`), indented as they are shown there. */
  synopsis: string;
  options: OptionSpecs;
  /** Runs the command with its parsed values (strings as given: the command parses them). */
  run(v: Values): Promise<void> | void;
}

/** --results, taken by every command that reads or writes a results store. */
export const RESULTS: OptionSpecs = {
  results: { type: 'string', value: 'FILE|URL', help: 'results store: a SQLite file (default data/results.sqlite) or a postgres:// URL; RESULTS_URL sets it too' },
};
/** A protocol by name or from a protocol file. */
export const PROTOCOL: OptionSpecs = {
  protocol: { type: 'string', value: 'NAME', help: 'a protocol (node dist/cli.js protocols lists them)' },
  'protocol-file': { type: 'string', value: 'FILE.json', help: 'a custom protocol (own schedules; format in src/runs/protocol-file.ts)' },
};
/** The overrides of a protocol's settings (overridesFrom). */
export const OVERRIDES: OptionSpecs = {
  seeds: { type: 'string', value: 'N', help: 'seeds per arm (0..N-1)' },
  'max-epochs': { type: 'string', value: 'N', help: 'epochs of each run at most' },
  target: { type: 'string', value: 'X', help: 'validation-accuracy target in (0, 1]' },
  fraction: { type: 'string', value: 'F', help: 'share of the training images used, in (0, 1]' },
  arms: { type: 'string', value: 'a,b', help: 'only these arms' },
  'batch-size': { type: 'string', value: 'N', help: 'images per SGD step' },
};
/** --data: the CIFAR-10 binary folder. */
export const DATA: OptionSpecs = {
  data: { type: 'string', value: 'DIR', help: 'CIFAR-10 binary folder (default: the protocol\'s embedded subset, else CIFAR10_DIR or data/)' },
};
/** Whether runs of an arm whose configurations differ beyond the seed may be pooled. */
export const MIXED: OptionSpecs = {
  'allow-mixed-configs': { type: 'boolean', help: 'pool runs of an arm whose configurations differ beyond the seed' },
};
/** Options every command takes. */
const GLOBAL: OptionSpecs = {
  help: { type: 'boolean', short: 'h', help: 'this help' },
  version: { type: 'boolean', help: 'versions of the workspace and its engine packages' },
};

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
export function int(v: string | boolean | undefined, name: string, min: number): number | undefined {
  if (v === undefined || typeof v === 'boolean') return undefined;
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
export function num(v: string | boolean | undefined, name: string, lo: number, hi: number): number | undefined {
  if (v === undefined || typeof v === 'boolean') return undefined;
  const n = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n <= lo || n > hi) throw new UsageError(`--${name} must be a number in (${lo}, ${hi}], got "${v}"`);
  return n;
}

/** A string option's value (undefined when absent). */
export const str = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

/** The protocol overrides of the command line (each checked: see int, num; `--arms ,` names no arm). */
export function overridesFrom(v: Values): ProtocolOverrides {
  let arms: string[] | undefined;
  const given = str(v.arms);
  if (given !== undefined) {
    arms = given.split(',').map((s) => s.trim()).filter(Boolean);
    if (arms.length === 0) throw new UsageError(`--arms "${given}" names no arm; give a comma-separated list such as step,cosine`);
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

/** Runs `check` and turns its ConfigError into a UsageError (exit 2: the command line is wrong). */
export function usage<T>(check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
}

/**
 * Joins `--name -1` into `--name=-1` for the options that take a value, so a negative number gets the
 * option's own range error instead of Node's "argument is ambiguous".
 */
function joinNegativeValues(argv: string[], options: OptionSpecs): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return [...out, ...argv.slice(i)];
    const name = a.startsWith('--') ? a.slice(2) : '';
    if (options[name]?.type === 'string' && i + 1 < argv.length && /^-(\d|\.\d)/.test(argv[i + 1])) {
      out.push(`${a}=${argv[++i]}`);
    } else {
      out.push(a);
    }
  }
  return out;
}

/** parseArgs, strict, its (possibly multi-line) message as one UsageError line. */
function parse(argv: string[], options: OptionSpecs): { values: Values; positionals: string[] } {
  const spec = Object.fromEntries(Object.entries(options).map(([k, o]) => [k, o.short ? { type: o.type, short: o.short } : { type: o.type }]));
  try {
    return parseArgs({ args: joinNegativeValues(argv, options), options: spec, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] };
  } catch (e) {
    // Node's message may span lines (e.g. "... is ambiguous.\nDid you forget ...?\nTo specify ... use '--x=-XYZ'."): one whole line
    throw new UsageError((e as Error).message.split('\n').map((l) => l.trim()).filter(Boolean).join(' '));
  }
}

/**
 * Parses a command line: first with every command's options (an option no command knows is refused
 * as such, and options may come before the command), then with the named command's own.
 * @returns the command (undefined when none is named), its values (with help and version) and the extra positionals
 * @throws UsageError for an unknown option, an option the command does not take, or an unknown command
 */
export function parseCommandLine(argv: string[], commands: readonly Command[]): { command: Command | undefined; values: Values; rest: string[] } {
  const every: OptionSpecs = Object.assign({}, GLOBAL, ...commands.map((c) => c.options));
  const first = parse(argv, every);
  const [name, ...rest] = first.positionals;
  if (name === undefined || first.values.version) return { command: undefined, values: first.values, rest };
  const command = commands.find((c) => c.name === name);
  if (!command && first.values.help) return { command: undefined, values: first.values, rest };
  if (!command && rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
  if (!command) throw new UsageError(`unknown command "${name}"`);
  return { command, values: parse(argv, { ...GLOBAL, ...command.options }).values, rest };
}

/** `node dist/cli.js COMMAND --help`: the command's synopsis and every option it takes, with its help line. */
export function commandHelp(c: Command): string {
  const rows = Object.entries({ ...c.options, ...GLOBAL }).map(([k, o]) => [`  --${k}${o.short ? `, -${o.short}` : ''}${o.value ? ` ${o.value}` : ''}`, o.help]);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return [`usage: node dist/cli.js ${c.synopsis.trim()}`, 'options:', ...rows.map(([l, h]) => l.padEnd(width) + h)].join('\n');
}
