/**
 * Kernel > Interrupt of a training cell in a real tslab kernel (jupyter_client's
 * KernelManager.interrupt_kernel, which sends SIGINT to the kernel's process group as Jupyter does):
 * the cell stops within about one iteration, releases the runs it started (one line each, no other
 * seed named), reports one `Interrupted` error without foreign stack frames, and nothing trains or
 * prints after it (the store, read with Python's sqlite3, holds the same epochs 10 s later). Driven
 * by test/kernel/interrupt_driver.py, once in the kernel (workers 0) and once with 2 worker processes.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requireComponent } from './fixtures/components';

const ROOT = path.resolve(__dirname, '..', '..');
const PY = process.env.JUPYTER_PYTHON || '/usr/bin/python3';
const DRIVER = path.join(ROOT, 'test', 'kernel', 'interrupt_driver.py');
const hasJupyter = (() => {
  const r = spawnSync(PY, ['-c', 'import jupyter_client'], { encoding: 'utf8' });
  return !r.error && r.status === 0;
})();
const SKIP = requireComponent('jupyter', hasJupyter ? false : `${PY} cannot import jupyter_client`, __filename);

interface Cell { stream: string; errors: { ename: string; evalue: string; traceback: string[] }[]; status: string; ename: string | null; seconds_to_reply?: number }
interface DriverOut {
  train: Cell; next: Cell; sleep: Cell; epochs_at_interrupt_reply: number; epochs_after_next: number; planned: number;
  runs: { arm: string; seed: number; status: string; lease_owner: string | null; epochs: number }[];
}

describe('Kernel > Interrupt stops a training cell', { skip: SKIP }, () => {
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-interrupt-'));
    env = { ...process.env, JUPYTER_LOCAL_PREFIX: path.join(tmp, 'prefix'), JUPYTER_PATH: path.join(tmp, 'prefix', 'share', 'jupyter') };
    const r = spawnSync('bash', [path.join(ROOT, 'scripts/jupyter/install-kernel.sh')], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, `install-kernel.sh failed:\n${r.stdout}\n${r.stderr}`);
  });
  after(() => { if (tmp) fs.rmSync(tmp, { recursive: true, force: true }); });

  for (const workers of [0, 2]) {
    it(`workers ${workers}: releases the started runs, one Interrupted error, nothing after the cell`, { timeout: 600000 }, () => {
      const store = path.join(tmp, `w${workers}.sqlite`);
      const r = spawnSync(PY, [DRIVER, ROOT, store, String(workers)], { env, encoding: 'utf8', timeout: 580000 });
      assert.equal(r.status, 0, `driver failed:\n${r.stdout}\n${r.stderr}`);
      const out = JSON.parse(r.stdout) as DriverOut;
      const { train } = out;
      // one clean error, in the reply and on iopub, without foreign frames
      assert.equal(train.status, 'error');
      assert.equal(train.ename, 'Interrupted');
      assert.equal(train.errors.length, 1, JSON.stringify(train.errors));
      assert.equal(train.errors[0].ename, 'Interrupted');
      assert.equal(train.errors[0].traceback.length, 1);
      assert.doesNotMatch(train.errors[0].traceback.join('\n'), /commander|Interrupted asynchronously|node_modules/);
      // the runs the store shows as started are exactly those released, one line each
      const started = out.runs;
      const expected = workers === 0 ? 1 : 2;
      assert.equal(started.length, expected, JSON.stringify(started));
      assert.match(train.errors[0].evalue, new RegExp(`^Kernel > Interrupt: protocol quick stopped; ${expected} runs? released`));
      const released = train.stream.split('\n').filter((l) => /released: resumable/.test(l));
      assert.deepEqual(released.sort(), started.map((s) => `[quick ${s.arm} seed ${s.seed}] released: resumable from its last checkpoint`).sort());
      for (const s of started) {
        assert.equal(s.status, 'running', 'released, not finished');
        assert.equal(s.lease_owner, null, 'lease given back');
        assert.ok(s.epochs >= 1 && s.epochs < 6, `${s.arm} ${s.seed}: ${s.epochs} epochs`);
      }
      assert.equal(out.planned, 6);
      assert.doesNotMatch(train.stream, /after the protocol/);
      // stopped within about one iteration (a few seconds on a loaded 2-core machine), nothing after it
      assert.ok(train.seconds_to_reply! < 20, `reply ${train.seconds_to_reply} s after the interrupt`);
      assert.equal(out.epochs_after_next, out.epochs_at_interrupt_reply, 'no epoch written after the cell ended');
      assert.equal(out.next.stream, 'next cell done\n', 'nothing of the training in the next cell');
      assert.equal(out.next.status, 'ok');
      // a cell that does not take the signal ends at once, with the same clean error
      assert.equal(out.sleep.ename, 'Interrupted');
      assert.equal(out.sleep.errors.length, 1);
      assert.equal(out.sleep.errors[0].traceback.length, 1);
      assert.ok(out.sleep.seconds_to_reply! < 5, `sleep cell: ${out.sleep.seconds_to_reply} s`);
    });
  }
});
