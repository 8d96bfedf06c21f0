/**
 * No password from the notebooks' parameters (issue 20): `npm run notebooks -- 04 -p results
 * postgres://USER:PASSWORD@HOST/DB` against a real PostgreSQL store (test/fixtures/postgres.ts; the
 * committed example store copied into it) with the real tslab kernel. The password reaches the kernel
 * as PGPASSWORD; the parameters table, the injected cell, the `parameters: {...}` output, the saved
 * notebook and the report never hold it, and the analysis reads the store. A mistyped scheme with a
 * password is a one-line error naming the scheme before any kernel starts.
 * Fails (unless WS_ALLOW_MISSING=jupyter) when no Jupyter python is found.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireComponent } from './fixtures/components';
import { PG_PASSWORD, startPostgres } from './fixtures/postgres';
import { runCli } from './fixtures/reliability/support';
import { ROOT, tmpDir } from './helpers';

const PY = process.env.JUPYTER_PYTHON || '/usr/bin/python3';
const hasJupyter = spawnSync(PY, ['-c', 'import jupyter_client, nbclient, nbformat'], { encoding: 'utf8' }).status === 0;
const NO_JUPYTER = requireComponent('jupyter', hasJupyter ? false : `no Jupyter python (${PY} cannot import nbclient)`, __filename);
const SCRIPT = path.join(ROOT, 'scripts', 'jupyter', 'run-notebooks.sh');

/** Every file below a folder, as text. */
const texts = (dir: string): string[] => fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })
  .map((f) => path.join(dir, f)).filter((f) => fs.statSync(f).isFile()).map((f) => fs.readFileSync(f, 'latin1'));

test('notebook 04 on a PostgreSQL URL with a password: analysed, and the password is nowhere', { skip: NO_JUPYTER || undefined }, async () => {
  const pg = await startPostgres();
  try {
    const url = await pg.createDatabase('nb');
    const copy = runCli(['copy-store', '--from', path.join(ROOT, 'data', 'example-results.sqlite'), '--to', url]);
    assert.equal(copy.status, 0, copy.stdout + copy.stderr);
    const tmp = tmpDir('ws-nb-pw-');
    const [out, reports] = [path.join(tmp, 'out'), path.join(tmp, 'reports')];
    const r = spawnSync('bash', [SCRIPT, '04', '--output-dir', out, '-p', 'results', url, '-p', 'report_dir', reports],
      { cwd: ROOT, encoding: 'utf8', timeout: 15 * 60_000, maxBuffer: 64 * 1024 * 1024 });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const shown = `postgres://postgres@127.0.0.1:${pg.port}/nb`;
    assert.match(r.stdout, new RegExp(`results += '${shown.replace(/\./g, '\\.')}' +\\(-p;`), r.stdout);
    const notebook = fs.readFileSync(path.join(out, '04-analysis.ipynb'), 'utf8');
    assert.ok(notebook.includes(`parameters: {\\"results\\":\\"${shown}\\"`), 'the parameters output names the store without its password');
    assert.match(notebook, /full-182/, 'the store was read');
    for (const text of [r.stdout, r.stderr, ...texts(out), ...texts(reports)]) assert.ok(!text.includes(PG_PASSWORD), `password found in: ${text.slice(0, 300)}`);

    const typo = spawnSync('bash', [SCRIPT, '04', '-p', 'results', url.replace('postgres://', 'postgress://')], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(typo.status, 2, typo.stdout + typo.stderr);
    assert.match(typo.stderr, /^error: parameter results: 'postgress:\/\/' is not a results store URL scheme/m);
    assert.ok(!(typo.stdout + typo.stderr).includes(PG_PASSWORD));
  } finally {
    pg.stop();
  }
});
