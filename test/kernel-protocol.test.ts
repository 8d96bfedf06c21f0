/**
 * The Jupyter protocol of the workspace's TypeScript kernel (tslab 1.0.22 with
 * patches/tslab+1.0.22.patch, applied by patch-package at `npm install` / `npm ci`).
 *
 * 1. The installed tslab is the patched one (checked by behaviour, so a fresh `npm ci` that did
 *    not apply the patch fails here).
 * 2. test/kernel/test_tslab_kernel.py, a jupyter_kernel_test.KernelTests suite (the Jupyter
 *    project's kernel test suite, Debian python3-jupyter-kernel-test), runs against the kernel
 *    registered by the project's own `npm run kernel:install` in the project-local Jupyter prefix.
 *    Without jupyter_kernel_test in JUPYTER_PYTHON (default /usr/bin/python3) this FAILS, naming
 *    the package to install.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT, tmpDir } from './helpers';

const PY = process.env.JUPYTER_PYTHON || '/usr/bin/python3';
const PREFIX = process.env.JUPYTER_LOCAL_PREFIX ? path.resolve(process.env.JUPYTER_LOCAL_PREFIX) : path.join(ROOT, '.jupyter-local');
const SUITE = path.join(ROOT, 'test', 'kernel', 'test_tslab_kernel.py');

/** The kernel tests that must pass (jupyter_kernel_test's own, then the workspace's). */
const REQUIRED = [
  'test_kernel_info', 'test_execute_stdout', 'test_execute_stderr', 'test_error', 'test_execute_result',
  'test_display_data', 'test_completion', 'test_inspect', 'test_is_complete', 'test_history',
  'test_kernel_info_status_ok', 'test_out_n_matches_execution_count', 'test_no_result_for_statements_and_undefined',
  'test_error_names_message_and_cell_line', 'test_error_in_function_of_an_earlier_cell', 'test_async_error',
  'test_typescript_type_error_names_line_and_type', 'test_stop_on_error_false_does_not_abort_the_next_request',
  'test_requests_queued_before_an_error_are_aborted_later_ones_run', 'test_danfo_frame_is_an_html_table',
  'test_plotly_figure_is_an_offline_interactive_chart', 'test_other_objects_keep_text_plain', 'test_history_has_outputs',
];

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

describe('tslab kernel: Jupyter protocol', () => {
  it('node_modules/tslab is tslab 1.0.22 with the workspace patch applied', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/tslab/package.json'), 'utf8')) as { version: string };
    assert.ok(fs.existsSync(path.join(ROOT, 'patches', `tslab+${pkg.version}.patch`)), `no patch for the installed tslab ${pkg.version} in patches/`);
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const tslab = require(path.join(ROOT, 'node_modules/tslab')) as { addFormatter?: unknown };
    assert.equal(typeof tslab.addFormatter, 'function', 'tslab is not patched: run npm install (postinstall: patch-package)');
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const conv = require(path.join(ROOT, 'node_modules/tslab/dist/converter')) as { isCompleteCode(s: string): { completed: boolean; invalid?: boolean } };
    assert.deepEqual(conv.isCompleteCode('1 +* 2 )'), { completed: false, invalid: true });
    assert.equal(conv.isCompleteCode('function f() {').completed, false);
    assert.deepEqual(conv.isCompleteCode('1 + 2'), { completed: true });
  });

  it('importing the workspace outside a kernel neither loads tslab nor registers formatters', () => {
    const code = "const ws = require('./dist/index'); console.log(JSON.stringify([ws.autoRegisterNotebookFormatters(), Object.keys(require.cache).some((k) => k.includes('/node_modules/tslab/'))]))";
    const r = spawnSync(process.execPath, ['-e', code], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop() ?? ''), [false, false]);
  });

  it('passes jupyter_kernel_test and the workspace kernel tests (test/kernel/test_tslab_kernel.py)', { timeout: 900_000 }, async () => {
    const probe = spawnSync(PY, ['-c', 'import jupyter_kernel_test, jupyter_client'], { encoding: 'utf8' });
    assert.ok(
      !probe.error && probe.status === 0,
      `${PY} cannot import jupyter_kernel_test / jupyter_client (${probe.error?.message ?? probe.stderr.trim().split('\n').pop()}). ` +
        'Install them: apt-get install python3-jupyter-kernel-test jupyter-client (or pip install jupyter_kernel_test into JUPYTER_PYTHON).',
    );
    assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'index.js')), 'no dist/index.js: run npm run build');
    const runtime = tmpDir('kernel-protocol-');
    try {
      const env = { ...process.env, JUPYTER_LOCAL_PREFIX: PREFIX, JUPYTER_RUNTIME_DIR: runtime };
      const install = spawnSync('npm', ['run', '--silent', 'kernel:install'], { cwd: ROOT, env, encoding: 'utf8' });
      assert.equal(install.status, 0, `npm run kernel:install failed:\n${install.stdout}\n${install.stderr}`);
      const r = await run(PY, [SUITE, '-v'], { ...env, JUPYTER_PATH: path.join(PREFIX, 'share', 'jupyter') }, 840_000);
      const passed = new Set([...r.out.matchAll(/^(test_\w+) \(.*\) \.\.\. ok$/gm)].map((m) => m[1]));
      assert.equal(r.code, 0, `kernel tests failed (exit ${r.code}):\n${r.out}`);
      assert.deepEqual(REQUIRED.filter((t) => !passed.has(t)), [], `not passed:\n${r.out}`);
    } finally {
      fs.rmSync(runtime, { recursive: true, force: true });
    }
  });
});
