/**
 * Custom protocols from a JSON file (`--protocol-file FILE.json`), so users can run their own
 * learning-rate schedules. Every field is checked before anything is trained or written; an error
 * names the file and the field, e.g. `my.json: arms[1].schedule.lr must be a number > 0, got -0.1`.
 *
 * Format (fields marked ? are optional):
 * {
 *   "name": "my-sgdr",                      letters, digits, . _ - (not a built-in protocol's name)
 *   "description"?: "...",
 *   "arms": [                               at least one, unique names
 *     { "name": "cosine-2", "description"?: "...",
 *       "schedule": { "kind": "cosine", "lrMax": 0.1, "lrMin"?: 0, "cycleLengthEpochs": 2, "cycleMult"?: 1, "warmup"?: "fastai" | null } },
 *     { "name": "step", "schedule": { "kind": "step", "lr": 0.1, "milestones": [32000, 48000], "gamma": 0.1 } },
 *     { "name": "flat", "schedule": { "kind": "constant", "lr": 0.05 } }
 *   ],
 *   "seeds": 3, "maxEpochs": 30,
 *   "target": 0.85 | null, "stopAtTarget"?: false, "trainFraction"?: 1,
 *   "validationCount"?: 5000 | "tenth", "testCount"?: null | 1000, "data"?: "any" | "embedded", "notes"?: ["..."]
 * }
 * Milestones are in iterations, cycle lengths in epochs (as in the built-in protocols).
 * Bounds (LIMITS in src/train/config.ts): seeds <= 10,000, maxEpochs and cycleLengthEpochs <= 100,000,
 * cycleMult <= 1,000, at most 100 arms and 100,000 runs, validationCount and testCount <= 1,000,000.
 * validationCount: default "tenth" (5,000 on the full set); an explicit number is used as given and
 * must be less than the training-file images of the data; testCount must not exceed its test images.
 */
import * as fs from 'node:fs';
import { ConfigError, LIMITS, SCHEDULE_KINDS, type ScheduleSpec } from '../train/config';
import { PROTOCOLS, type ArmSpec, type ProtocolSpec } from './protocols';

type Json = Record<string, unknown>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const TOP_FIELDS = ['name', 'description', 'arms', 'seeds', 'maxEpochs', 'target', 'stopAtTarget', 'trainFraction', 'validationCount', 'testCount', 'data', 'notes'];
const SCHEDULE_FIELDS: Record<ScheduleSpec['kind'], string[]> = {
  constant: ['kind', 'lr'],
  step: ['kind', 'lr', 'milestones', 'gamma'],
  cosine: ['kind', 'lrMax', 'lrMin', 'cycleLengthEpochs', 'cycleMult', 'warmup'],
};

const show = (v: unknown): string => (v === undefined ? 'nothing' : typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v));

/**
 * Checks a parsed protocol object.
 * @param file name used in error messages (the path as the user gave it)
 * @throws ConfigError `FILE: FIELD must be ..., got VALUE`
 */
export function parseProtocolObject(raw: unknown, file: string): ProtocolSpec {
  const fail = (field: string, what: string, v: unknown): never => {
    throw new ConfigError(`${file}: ${field} must be ${what}, got ${show(v)}`);
  };
  const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
  const noExtra = (o: Json, allowed: string[], where: string) => {
    const extra = Object.keys(o).find((k) => !allowed.includes(k));
    if (extra !== undefined) throw new ConfigError(`${file}: ${where ? `${where}: ` : ''}unknown field "${extra}" (allowed: ${allowed.join(', ')})`);
  };
  const num = (o: Json, key: string, field: string, rule: 'positive' | 'nonNegative' | 'positiveInteger' | 'unit', max = Infinity) => {
    const v = o[key];
    const ok = typeof v === 'number' && Number.isFinite(v) && (
      rule === 'positive' ? v > 0 : rule === 'nonNegative' ? v >= 0 : rule === 'positiveInteger' ? Number.isInteger(v) && v > 0 : v > 0 && v <= 1);
    if (!ok) fail(field, { positive: 'a number > 0', nonNegative: 'a number >= 0', positiveInteger: 'an integer >= 1', unit: 'a number in (0, 1]' }[rule], v);
    if ((v as number) > max) fail(field, `at most ${max} (a real study never needs more)`, v);
    return v as number;
  };
  const str = (o: Json, key: string, field: string, pattern?: RegExp) => {
    const v = o[key];
    if (typeof v !== 'string' || v.length === 0 || (pattern && !pattern.test(v))) {
      fail(field, pattern ? 'a non-empty string of letters, digits, ".", "_" or "-"' : 'a non-empty string', v);
    }
    return v as string;
  };

  if (!isObject(raw)) fail('the top level', 'a JSON object', raw);
  const o = raw as Json;
  noExtra(o, TOP_FIELDS, '');
  const name = str(o, 'name', 'name', NAME);
  if (PROTOCOLS[name]) throw new ConfigError(`${file}: name "${name}" is a built-in protocol; choose another name`);
  const description = o.description === undefined ? `custom protocol from ${file}` : str(o, 'description', 'description');

  if (!Array.isArray(o.arms) || o.arms.length === 0) fail('arms', 'a non-empty array', o.arms);
  if ((o.arms as unknown[]).length > LIMITS.arms) fail('arms', `an array of at most ${LIMITS.arms} arms`, `${(o.arms as unknown[]).length} arms`);
  const arms: ArmSpec[] = (o.arms as unknown[]).map((a, i) => {
    const at = `arms[${i}]`;
    if (!isObject(a)) fail(at, 'an object with "name" and "schedule"', a);
    const arm = a as Json;
    noExtra(arm, ['name', 'schedule', 'description'], at);
    const armName = str(arm, 'name', `${at}.name`, NAME);
    const s = arm.schedule;
    if (!isObject(s)) fail(`${at}.schedule`, 'an object with "kind"', s);
    const sj = s as Json;
    const kind = sj.kind as ScheduleSpec['kind'];
    if (typeof kind !== 'string' || !(SCHEDULE_KINDS as readonly string[]).includes(kind)) fail(`${at}.schedule.kind`, `one of ${SCHEDULE_KINDS.join(', ')}`, kind);
    noExtra(sj, SCHEDULE_FIELDS[kind], `${at}.schedule (${kind})`);
    const f = (k: string) => `${at}.schedule.${k}`;
    let schedule: ScheduleSpec;
    if (kind === 'constant') {
      schedule = { kind, lr: num(sj, 'lr', f('lr'), 'positive') };
    } else if (kind === 'step') {
      const lr = num(sj, 'lr', f('lr'), 'positive');
      const m = sj.milestones;
      if (!Array.isArray(m) || m.length > 1000 || m.some((x, j) => !Number.isInteger(x) || (x as number) < 1 || (x as number) > LIMITS.milestone || (j > 0 && (x as number) <= (m[j - 1] as number)))) {
        fail(f('milestones'), 'an array of strictly increasing integers >= 1 (iterations)', m);
      }
      schedule = { kind, lr, milestones: [...(m as number[])], gamma: num(sj, 'gamma', f('gamma'), 'positive') };
    } else {
      const lrMax = num(sj, 'lrMax', f('lrMax'), 'positive');
      const lrMin = sj.lrMin === undefined ? 0 : num(sj, 'lrMin', f('lrMin'), 'nonNegative');
      if (lrMin >= lrMax) fail(f('lrMin'), `a number < lrMax (${lrMax})`, lrMin);
      const cycleLengthEpochs = num(sj, 'cycleLengthEpochs', f('cycleLengthEpochs'), 'positiveInteger', LIMITS.maxEpochs);
      const cycleMult = sj.cycleMult === undefined ? 1 : num(sj, 'cycleMult', f('cycleMult'), 'positiveInteger', LIMITS.cycleMult);
      const warmup = sj.warmup ?? null;
      if (warmup !== null && warmup !== 'fastai') fail(f('warmup'), '"fastai" or null', warmup);
      schedule = { kind, lrMax, lrMin, cycleLengthEpochs, cycleMult, warmup: warmup as 'fastai' | null };
    }
    return { name: armName, schedule, description: arm.description === undefined ? `${kind} schedule from ${file}` : str(arm, 'description', `${at}.description`) };
  });
  const seen = new Set<string>();
  arms.forEach((a, i) => {
    if (seen.has(a.name)) throw new ConfigError(`${file}: arms[${i}].name "${a.name}" is used by an earlier arm; arm names must be unique`);
    seen.add(a.name);
  });

  const seeds = num(o, 'seeds', 'seeds', 'positiveInteger', LIMITS.seeds);
  const maxEpochs = num(o, 'maxEpochs', 'maxEpochs', 'positiveInteger', LIMITS.maxEpochs);
  if (arms.length * seeds > LIMITS.runs) fail('seeds', `at most ${Math.floor(LIMITS.runs / arms.length)} with ${arms.length} arms (${LIMITS.runs} runs in all)`, seeds);
  if (!('target' in o)) fail('target', 'a number in (0, 1] or null', undefined);
  const target = o.target === null ? null : num(o, 'target', 'target', 'unit');
  if (o.stopAtTarget !== undefined && typeof o.stopAtTarget !== 'boolean') fail('stopAtTarget', 'true or false', o.stopAtTarget);
  const stopAtTarget = (o.stopAtTarget as boolean | undefined) ?? false;
  if (stopAtTarget && target === null) fail('target', 'a number in (0, 1] when stopAtTarget is true', null);
  const trainFraction = o.trainFraction === undefined ? 1 : num(o, 'trainFraction', 'trainFraction', 'unit');
  const validationCountGiven = o.validationCount !== undefined && o.validationCount !== 'tenth';
  const validationCount = validationCountGiven ? num(o, 'validationCount', 'validationCount', 'positiveInteger', LIMITS.images) : 'tenth';
  const testCount = o.testCount === undefined || o.testCount === null ? null : num(o, 'testCount', 'testCount', 'positiveInteger', LIMITS.images);
  if (o.data !== undefined && o.data !== 'any' && o.data !== 'embedded') fail('data', '"any" or "embedded"', o.data);
  const data = (o.data as 'any' | 'embedded' | undefined) ?? 'any';
  if (o.notes !== undefined && (!Array.isArray(o.notes) || o.notes.some((n) => typeof n !== 'string'))) fail('notes', 'an array of strings', o.notes);
  const notes = (o.notes as string[] | undefined) ?? [];
  return { name, description, arms, seeds, maxEpochs, target, stopAtTarget, trainFraction, validationCount, validationCountGiven, testCount, data, notes, file };
}

/**
 * Reads and checks a protocol file.
 * @param file path of a JSON file (see the format above)
 * @throws ConfigError naming the file (and the field) when it cannot be read, is not JSON, or a field is wrong
 */
export function loadProtocolFile(file: string): ProtocolSpec {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(`${file}: cannot read the protocol file (${code === 'ENOENT' ? 'no such file' : code ?? (e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  return parseProtocolObject(raw, file);
}
