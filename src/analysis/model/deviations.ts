/**
 * Protocol order and how a protocol's runs deviate from the protocol's definition.
 */
import { PROTOCOLS } from '../../runs/protocols';
import type { RunRecord } from '../../store/types';
import { targetPercent } from './percent';
import { isFinished } from './reference';

/** Protocols in report order: the known ones first (race-to-85, full-182, quick), then others by name. */
export function protocolOrder(names: Iterable<string>): string[] {
  const known = Object.keys(PROTOCOLS);
  return [...new Set(names)].sort((a, b) => {
    const ia = known.indexOf(a);
    const ib = known.indexOf(b);
    if (ia >= 0 || ib >= 0) return (ia < 0 ? 1e9 : ia) - (ib < 0 ? 1e9 : ib);
    return a.localeCompare(b);
  });
}

/** How a protocol's runs deviate from its definition; see {@link protocolDeviations}. */
export interface ProtocolDeviations {
  /** Every deviation, as sentence parts (epochs, data, train fraction, target, seeds). */
  deviations: string[];
  /** Those that change what is measured (all but the number of seeds). */
  setupDeviations: string[];
  /**
   * One line for figure subtitles when there are setup deviations, e.g. "runs of at most 2 epochs
   * (not 182) on cifar-10-subset, train fraction 0.5 — not the full-182 protocol"; else null.
   */
  caveat: string | null;
}

/**
 * Compares one protocol's runs (their first run's configuration, and runs per arm) with the
 * protocol's definition. Unknown protocols and empty run lists have no deviations.
 * @param protocol protocol name
 * @param runs runs (only those of `protocol` are used)
 */
export function protocolDeviations(protocol: string, runs: readonly RunRecord[]): ProtocolDeviations {
  const spec = PROTOCOLS[protocol] ?? null;
  const pr = runs.filter((r) => r.protocol === protocol);
  const none: ProtocolDeviations = { deviations: [], setupDeviations: [], caveat: null };
  if (!spec || pr.length === 0) return none;
  const configured = (pr[0].config ?? {}) as Record<string, unknown>;
  const data = (configured.data ?? {}) as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  const target = pr[0].target ?? spec.target ?? null;
  const setup: string[] = [];
  const short: string[] = [];
  const maxEpochs = num(configured.maxEpochs);
  const fraction = num(data.trainFraction);
  const dataset = typeof data.dataset === 'string' ? data.dataset : null;
  const otherData = spec.data === 'any' && dataset !== null && dataset !== 'cifar-10';
  if (maxEpochs !== null && maxEpochs !== spec.maxEpochs) {
    setup.push(`at most ${maxEpochs} epochs instead of the protocol's ${spec.maxEpochs}`);
    short.push(`runs of at most ${maxEpochs} epoch${maxEpochs === 1 ? '' : 's'} (not ${spec.maxEpochs})`);
  }
  if (otherData) {
    setup.push(`data ${dataset} instead of the full CIFAR-10`);
    short.push(`on ${dataset}`);
  }
  if (fraction !== null && fraction !== spec.trainFraction) {
    setup.push(`train fraction ${fraction} instead of ${spec.trainFraction}`);
    short.push(`train fraction ${fraction}`);
  }
  if (target !== spec.target) {
    const t = (x: number | null) => (x === null ? 'none' : targetPercent(x));
    setup.push(`target ${target ?? 'none'} instead of ${spec.target ?? 'none'}`);
    short.push(`target ${t(target)} (not ${t(spec.target)})`);
  }
  const deviations = [...setup];
  const arms = [...new Set(pr.map((r) => r.arm))];
  // finished runs only: the analysis counts no other (a run still training is not yet one of the seeds)
  const perArm = Math.max(...arms.map((a) => pr.filter((r) => r.arm === a && isFinished(r)).length));
  if (perArm < spec.seeds) deviations.push(`at most ${perArm} finished run${perArm === 1 ? '' : 's'} per arm instead of the protocol's ${spec.seeds}`);
  let caveat: string | null = null;
  if (setup.length) {
    // "runs of at most 2 epochs (not 182) on cifar-10-subset, train fraction 0.5 — not the full-182 protocol"
    let head = short[0].startsWith('runs of') ? short.shift()! : 'runs';
    if (short[0]?.startsWith('on ')) head += ` ${short.shift()!}`;
    const rest = short.length ? `${head === 'runs' ? ' with ' : ', '}${short.join(', ')}` : '';
    caveat = `${head}${rest} — not the ${protocol} protocol`;
  }
  return { deviations, setupDeviations: setup, caveat };
}

