/**
 * `copy-store --from A --to B`: copies runs, epochs, planned runs and checkpoints between results
 * stores; one line per conflict and corrupt checkpoint, a summary, exit 1 on conflicts under
 * --on-conflict fail (the default).
 */
import { CHECKPOINT_SELECTIONS, CONFLICT_POLICIES, copyStore as copy, resolveResultsLocation, type CheckpointSelection, type ConflictPolicy } from '../store';
import { str, UsageError, type Command } from './options';

export const copyStore: Command = {
  name: 'copy-store',
  synopsis: `  copy-store --from FILE|URL --to FILE|URL [--checkpoints all|unfinished|none] [--on-conflict fail|keep-target|take-source]
                                 copy runs, epochs, planned runs and checkpoints (idempotent); a finished run is never
                                 replaced by a different one unless --on-conflict take-source (fail: keep it, exit 1)`,
  options: {
    from: { type: 'string', value: 'FILE|URL', help: 'the store to copy from' },
    to: { type: 'string', value: 'FILE|URL', help: 'the store to copy into (created if new)' },
    checkpoints: { type: 'string', value: CHECKPOINT_SELECTIONS.join('|'), help: 'which runs\' checkpoints to copy (default all; unfinished: only what training needs to go on; none: a small read-only store of results)' },
    'no-checkpoints': { type: 'boolean', help: 'the same as --checkpoints none' },
    'on-conflict': { type: 'string', value: CONFLICT_POLICIES.join('|'), help: 'when both stores hold a different finished run of one id (default fail)' },
  },
  async run(v) {
    const [fromGiven, toGiven] = [str(v.from), str(v.to)];
    if (!fromGiven || !toGiven) throw new UsageError('copy-store needs --from FILE|URL and --to FILE|URL');
    const onConflict = (str(v['on-conflict']) ?? 'fail') as ConflictPolicy;
    if (!CONFLICT_POLICIES.includes(onConflict)) throw new UsageError(`--on-conflict must be one of ${CONFLICT_POLICIES.join(', ')}, got "${str(v['on-conflict'])}"`);
    const [from, to] = [resolveResultsLocation(fromGiven), resolveResultsLocation(toGiven)];
    if (from === to) throw new UsageError('copy-store: --from and --to name the same store');
    const given = str(v.checkpoints);
    if (given !== undefined && !CHECKPOINT_SELECTIONS.includes(given as CheckpointSelection)) {
      throw new UsageError(`--checkpoints must be one of ${CHECKPOINT_SELECTIONS.join(', ')}, got "${given}"`);
    }
    if (given !== undefined && given !== 'none' && v['no-checkpoints']) throw new UsageError(`--no-checkpoints contradicts --checkpoints ${given}`);
    const checkpoints = (v['no-checkpoints'] ? 'none' : given ?? 'all') as CheckpointSelection;
    const r = await copy(from, to, { log: (l) => console.log(l), checkpoints, onConflict });
    const which = { all: '', none: ' without checkpoints', unfinished: ' with the checkpoints of unfinished runs only' }[checkpoints];
    console.log(`copied ${r.copied} runs (${r.unchanged} unchanged, newer there or kept)${which} and ${r.plannedNew} planned runs (${r.planned - r.plannedNew} already there) from ${r.from} to ${r.to}` +
      `${r.corrupt ? `; ${r.corrupt} corrupt checkpoint${r.corrupt === 1 ? '' : 's'} left out` : ''}`);
    if (r.conflicts.length && onConflict === 'fail') {
      console.error(`error: ${r.conflicts.length} run${r.conflicts.length === 1 ? '' : 's'} finished differently in the two stores; ${r.to} keeps its own (see the conflict lines; --on-conflict keep-target or take-source decides)`);
      process.exitCode = 1;
    }
  },
};
