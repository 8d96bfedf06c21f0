/**
 * The PyTorch CPU reference of the bench (scripts/pytorch_reference.py, Debian python3-torch) and
 * the summary statistics the bench reports (median with min-max over alternating rounds).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../data/locate';

/** One PyTorch measurement. */
export interface Reference {
  config: 'best' | 'nchw';
  threads: number;
  imagesPerSecond: number | null;
  imagesPerCpuSecond?: number;
  note?: string;
}

/**
 * Variables unset for the best-configuration command only: Debian's OpenBLAS honours
 * OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which this machine's environment sets to values that slow
 * PyTorch down; the NCHW command and everything else keep the environment as it is.
 */
export const OPENBLAS_UNSET = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'] as const;

/**
 * Runs scripts/pytorch_reference.py once.
 * @param config 'best': channels_last model and input, OPENBLAS_UNSET removed from the child's
 *   environment; 'nchw': default memory format, environment unchanged
 * @param threads torch.set_num_threads
 * @returns images/s (null with a note when the command failed)
 */
export function pytorchReference(
  o: { python: string; referenceSteps: number; batch: number }, config: Reference['config'], threads: number, dataFile: string,
): Reference {
  const script = path.join(PROJECT_ROOT, 'scripts', 'pytorch_reference.py');
  const env = { ...process.env };
  const args = [script, '--threads', String(threads), '--steps', String(o.referenceSteps),
    '--warmup', '3', '--batch', String(o.batch), '--data', dataFile];
  if (config === 'best') {
    for (const k of OPENBLAS_UNSET) delete env[k];
    args.push('--channels-last');
  }
  const r = spawnSync(o.python, args, { encoding: 'utf8', env, timeout: 30 * 60 * 1000 });
  if (r.error || r.status !== 0) {
    return { config, threads, imagesPerSecond: null, note: `PyTorch reference failed: ${r.error?.message ?? r.stderr.trim().split('\n').slice(-1)[0]}` };
  }
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  const parsed = line ? JSON.parse(line) as { imagesPerSecond: number; imagesPerCpuSecond?: number } : null;
  return { config, threads, imagesPerSecond: parsed ? parsed.imagesPerSecond : null, imagesPerCpuSecond: parsed?.imagesPerCpuSecond };
}

/** null when `python` imports torch, else why not. */
export function torchAvailable(python: string): string | null {
  if (!fs.existsSync(python)) return `${python} does not exist`;
  const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (r.status !== 0) return `${python} has no torch (import failed; Debian: apt-get install python3-torch)`;
  return null;
}

/** Median, minimum and maximum of the finite values; null fields when there are none. */
export interface Summary { median: number | null; min: number | null; max: number | null; n: number }

export function summarize(values: (number | null | undefined)[]): Summary {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { median: null, min: null, max: null, n: 0 };
  const m = v.length >> 1;
  const median = v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
  return { median, min: v[0], max: v[v.length - 1], n: v.length };
}

const fmt = (v: number | null, d = 1) => (v === null || !Number.isFinite(v) ? 'n/a' : v.toFixed(d));

/** "median (min-max, n runs)" */
export function formatSummary(s: Summary, d = 1): string {
  return s.n === 0 ? 'n/a' : `${fmt(s.median, d)} (${fmt(s.min, d)}-${fmt(s.max, d)}, n=${s.n})`;
}
