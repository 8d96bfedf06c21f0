/**
 * Executes notebooks/*.ipynb headless through scripts/jupyter/run-notebooks.sh (nbclient, tslab
 * kernel) with NOTEBOOK_SMOKE=1 (02 and 03 train a tiny configuration into their own temporary
 * store), RESULTS_DB = a temporary copy of data/example-results.sqlite (04's data) and REPORT_DIR a
 * temporary folder; outputs go to a temporary --output-dir, so the committed notebooks are never
 * overwritten. Checks that every notebook succeeds and that 04's outputs hold the tables and tests.
 *
 * Needs `npm run build` (dist/) and a python with jupyter_client + nbclient (JUPYTER_PYTHON,
 * default /usr/bin/python3); without it the suite fails, unless WS_ALLOW_MISSING=jupyter. Takes a few minutes (02 and
 * 03 train ResNet-20 for one short epoch per arm).
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
const NOTEBOOKS = ['02-race-to-85.ipynb', '03-full-182.ipynb', '04-analysis.ipynb'];
const EXAMPLE = path.join(ROOT, 'data', 'example-results.sqlite');

function skipReason(): string | false {
  const r = spawnSync(PY, ['-c', 'import jupyter_client, nbclient, nbformat'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `no Jupyter python: ${PY} lacks jupyter_client/nbclient (set JUPYTER_PYTHON)`;
  return false;
}
const SKIP = requireComponent('jupyter', skipReason(), __filename);

interface NbOutput {
  output_type: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
}
interface Notebook {
  cells: Array<{ cell_type: string; source: string | string[]; outputs?: NbOutput[]; execution_count?: number | null }>;
}

const joined = (t: string | string[] | undefined) => (Array.isArray(t) ? t.join('') : t ?? '');

/** Text of every output (streams, text/plain, text/markdown, text/html) of a notebook's code cells. */
function outputsText(nb: Notebook): string {
  return nb.cells
    .flatMap((c) => c.outputs ?? [])
    .map((o) => [joined(o.text), joined(o.data?.['text/plain']), joined(o.data?.['text/markdown']), joined(o.data?.['text/html']).slice(0, 200_000)].join('\n'))
    .join('\n');
}

describe('notebooks run headless (NOTEBOOK_SMOKE=1)', { skip: SKIP }, () => {
  let tmp: string;
  let outDir: string;
  let result: ReturnType<typeof spawnSync>;
  const committed = new Map<string, string>();

  const userReport = path.join(ROOT, 'reports', 'report.md');
  let userReportBefore: string | null = null;

  before(() => {
    userReportBefore = fs.existsSync(userReport) ? `${fs.statSync(userReport).mtimeMs} ${fs.readFileSync(userReport, 'utf8').length}` : null;
    assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'index.js')), 'run npm run build first (the notebooks import ../dist)');
    assert.ok(fs.existsSync(EXAMPLE), `${EXAMPLE} is missing`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'notebooks-test-'));
    outDir = path.join(tmp, 'out');
    const db = path.join(tmp, 'example-results.sqlite');
    fs.copyFileSync(EXAMPLE, db);
    for (const n of NOTEBOOKS) committed.set(n, fs.readFileSync(path.join(ROOT, 'notebooks', n), 'utf8'));
    result = spawnSync('bash', [path.join(ROOT, 'scripts/jupyter/run-notebooks.sh'), '--output-dir', outDir, '--timeout', '900', ...NOTEBOOKS.map((n) => path.join(ROOT, 'notebooks', n))], {
      env: { ...process.env, NOTEBOOK_SMOKE: '1', RESULTS_DB: db, REPORT_DIR: path.join(tmp, 'reports') },
      encoding: 'utf8',
      timeout: 40 * 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('every notebook executes without a failing cell', () => {
    assert.equal(result.status, 0, `run-notebooks.sh failed (status ${result.status}, ${result.error ?? ''}):\n${result.stdout}\n${result.stderr}`);
    for (const n of NOTEBOOKS) {
      assert.match(String(result.stdout), new RegExp(`^ok\\s+.*${n.replace(/\./g, '\\.')}`, 'm'), n);
      const nb = JSON.parse(fs.readFileSync(path.join(outDir, n), 'utf8')) as Notebook;
      const code = nb.cells.filter((c) => c.cell_type === 'code');
      assert.ok(code.length > 3, n);
      code.forEach((c, i) => assert.equal(c.execution_count, i + 1, `${n}: code cell ${i} ran in order`));
    }
  });

  it('the committed notebooks were not overwritten', () => {
    for (const n of NOTEBOOKS) assert.equal(fs.readFileSync(path.join(ROOT, 'notebooks', n), 'utf8'), committed.get(n), n);
  });

  it('02 and 03 trained their smoke configuration with a live chart', () => {
    for (const [n, protocol] of [['02-race-to-85.ipynb', 'quick'], ['03-full-182.ipynb', 'full-182']]) {
      const text = outputsText(JSON.parse(fs.readFileSync(path.join(outDir, n), 'utf8')) as Notebook);
      assert.match(text, /NOTEBOOK_SMOKE=1: tiny smoke configuration/, n);
      assert.match(text, new RegExp(`\\[${protocol} \\S+ seed 0\\] epoch 1/1`), n);
      assert.match(text, /trained \d+, skipped 0 already finished, failed 0/, n);
      assert.match(text, /ws-plotly-figure/, `${n}: the live chart output`);
      const runs = protocol === 'quick' ? 2 : 3; // arms x 1 seed, 1 epoch each
      assert.ok(text.includes(`${runs} epoch records of ${runs} runs so far`), `${n}: the live chart's last state`);
    }
  });

  it('04 shows the tables, every test and the charts, and writes the report', () => {
    const nb = JSON.parse(fs.readFileSync(path.join(outDir, '04-analysis.ipynb'), 'utf8')) as Notebook;
    const text = outputsText(nb);
    assert.match(text, /results store: .*example-results\.sqlite/);
    assert.match(text, /<table class="ws-frame">/); // danfo frames
    assert.match(text, /\| arm \| n \| reached \| censored \|/); // per-arm table
    for (const s of ['Welch', "Hedges' g", 'Mann–Whitney U', 'Kaplan–Meier', 'Log-rank', 'One-sample Student t-test', '30.5', '90.98%', '91.10%', '8.75%']) {
      assert.ok(text.includes(s), `04 outputs lack "${s}"`);
    }
    assert.match(text, /quick (epochs to target|final test error) cosine - step: Welch/);
    assert.ok((text.match(/class="ws-plotly-figure"/g) ?? []).length >= 6, 'inline charts');
    assert.match(text, /wrote .*report\.md/);
    const report = fs.readFileSync(path.join(tmp, 'reports', 'report.md'), 'utf8');
    assert.match(report, /## Protocol quick/);
    // REPORT_DIR honoured: the report went to the temporary folder, the user's reports/report.md is untouched
    assert.ok(text.includes(`report folder: ${path.join(tmp, 'reports')}\n`), 'REPORT_DIR used');
    const after = fs.existsSync(userReport) ? `${fs.statSync(userReport).mtimeMs} ${fs.readFileSync(userReport, 'utf8').length}` : null;
    assert.equal(after, userReportBefore, 'reports/report.md was rewritten');
    // the example store's full-182 runs deviate from the protocol: marked in the tests and the figures
    assert.match(text, /Not interpretable: these runs deviate from the full-182 protocol/);
    assert.ok(text.includes('not the full-182 protocol'), 'caveat in the figures');
  });
});

describe('committed notebook 04', () => {
  const nb = JSON.parse(fs.readFileSync(path.join(ROOT, 'notebooks', '04-analysis.ipynb'), 'utf8')) as Notebook;
  const source = nb.cells.map((c) => joined(c.source)).join('\n');

  it('writes into its own folder (reports/notebook-04) unless REPORT_DIR is set, and says so', () => {
    assert.match(source, /const REPORT_DIR = process\.env\.REPORT_DIR \|\| path\.join\(ws\.PROJECT_ROOT, 'reports', 'notebook-04'\);/);
    assert.match(source, /`REPORT_DIR` \(environment\) if set, else to the notebook's own folder `reports\/notebook-04\/`/);
    assert.doesNotMatch(source, /path\.join\(ws\.PROJECT_ROOT, 'reports'\);/);
  });

  it('carries outputs of the fixed code (notebook folder, caveats, not-interpretable tests)', () => {
    const text = outputsText(nb);
    assert.match(text, /report folder: .*reports[\\/]notebook-04\n/);
    assert.match(text, /wrote reports\/notebook-04\/report\.md/);
    assert.match(text, /Not interpretable: these runs deviate from the full-182 protocol/);
    assert.ok(text.includes('not the full-182 protocol'));
    const code = nb.cells.filter((c) => c.cell_type === 'code');
    code.forEach((c, i) => assert.equal(c.execution_count, i + 1, `code cell ${i} executed in order`));
  });
});
