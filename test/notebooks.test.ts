/**
 * The notebooks as parameterised documents (issue 12), executed headless through
 * scripts/jupyter/run-notebooks.sh (nbclient, the real tslab kernel):
 *
 * - every -p is checked against the notebooks' parameters cells before any kernel starts: an
 *   unknown name or a value of the wrong type is a one-line error and exit status 2;
 * - all notebooks run with their headless defaults (02 and 03 train their small named
 *   configurations into temporary stores; 04 analyses the committed example store), outputs into a
 *   temporary --output-dir (the committed notebooks are never overwritten) and `report_dir` a
 *   temporary folder;
 * - an injected parameter changes what runs: 02 with `-p seeds 1 -p arms cosine -p max_epochs 1`
 *   into a store of the test's own, read back with better-sqlite3 (not through the workspace);
 * - the committed notebooks: one parameters cell each, no environment variables, outputs produced
 *   by the headless defaults (04: by the shipped study, the counts it prints those of the store read
 *   with better-sqlite3) and free of absolute machine paths.
 *
 * Needs `npm run build` (dist/) and a python with jupyter_client + nbclient + nbformat
 * (JUPYTER_PYTHON, default /usr/bin/python3): without them the tests fail. Takes a few minutes.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';

const ROOT = path.resolve(__dirname, '..', '..');
const PY = process.env.JUPYTER_PYTHON || '/usr/bin/python3';
const SCRIPT = path.join(ROOT, 'scripts/jupyter/run-notebooks.sh');
const NOTEBOOKS = ['01-learning-rate-schedules.ipynb', '02-race-to-85.ipynb', '03-full-182.ipynb', '04-analysis.ipynb'];

interface NbOutput {
  output_type: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
}
interface Cell {
  cell_type: string;
  source: string | string[];
  metadata?: { tags?: string[] };
  outputs?: NbOutput[];
  execution_count?: number | null;
}
interface Notebook {
  cells: Cell[];
}

const joined = (t: string | string[] | undefined) => (Array.isArray(t) ? t.join('') : t ?? '');
const readNb = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as Notebook;
const tagged = (c: Cell, tag: string) => (c.metadata?.tags ?? []).includes(tag);

/** Text of every output (streams, text/plain, text/markdown, the start of text/html) of a notebook's code cells. */
function outputsText(nb: Notebook): string {
  return nb.cells
    .flatMap((c) => c.outputs ?? [])
    .map((o) => [joined(o.text), joined(o.data?.['text/plain']), joined(o.data?.['text/markdown']), joined(o.data?.['text/html']).slice(0, 200_000)].join('\n'))
    .join('\n');
}

/** Streams, text/plain and text/markdown only (what the notebook printed, without plotly.js). */
function printedText(nb: Notebook): string {
  return nb.cells.flatMap((c) => c.outputs ?? []).map((o) => [joined(o.text), joined(o.data?.['text/plain']), joined(o.data?.['text/markdown'])].join('\n')).join('\n');
}

function runNotebooks(args: string[], timeoutMinutes = 30) {
  return spawnSync('bash', [SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8', timeout: timeoutMinutes * 60_000, maxBuffer: 64 * 1024 * 1024 });
}

function requireJupyter(): void {
  const r = spawnSync(PY, ['-c', 'import jupyter_client, nbclient, nbformat'], { encoding: 'utf8' });
  assert.ok(!r.error && r.status === 0, `no Jupyter python: ${PY} lacks jupyter_client/nbclient/nbformat (Debian: python3-nbclient; or set JUPYTER_PYTHON)`);
  assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'index.js')), 'run npm run build first (the notebooks import ../dist)');
}

describe('npm run notebooks: parameters are checked before anything runs', () => {
  let tmp: string;
  before(() => {
    requireJupyter();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'notebooks-params-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const bad: Array<[string, string[], RegExp]> = [
    ['an unknown name', ['-p', 'seedz', '3'], /^error: unknown parameter seedz \(parameters of the notebooks: 01-learning-rate-schedules\.ipynb: iterations, .*02-race-to-85\.ipynb: protocol, seeds, /],
    ['a number that is not one', ['02', '-p', 'seeds', 'three'], /^error: 02-race-to-85\.ipynb: parameter seeds must be number \| null, got 'three'$/],
    ['a value outside a literal type', ['03', '-p', 'backend', 'gpu'], /^error: 03-full-182\.ipynb: parameter backend must be 'auto' \| 'onednn' \| 'wasm' \| 'tfjs-node' \| 'tfjs-node-gpu' \| 'cpu', got 'gpu'$/],
    ['a boolean that is not one', ['04', '-p', 'allow_mixed_configs', 'yes'], /^error: 04-analysis\.ipynb: parameter allow_mixed_configs must be boolean, got 'yes'$/],
    ['a parameter the given notebook lacks', ['01', '-p', 'seeds', '2'], /^error: unknown parameter seeds \(parameters of the notebooks: 01-learning-rate-schedules\.ipynb: iterations, iterations_per_epoch, lr, report_dir, formats\)$/],
  ];
  for (const [what, args, message] of bad) {
    it(`${what}: one line on stderr, exit status 2, no notebook written`, () => {
      const out = path.join(tmp, what.replace(/\W+/g, '-'));
      const r = runNotebooks([...args, '--output-dir', out], 2);
      assert.equal(r.status, 2, `${r.stdout}\n${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], message);
      assert.equal(r.stdout, '', 'nothing ran');
      assert.ok(!fs.existsSync(out), 'no output folder');
    });
  }

  it('--list-parameters prints every notebook\'s parameters with type, default and headless value', () => {
    const r = runNotebooks(['--list-parameters'], 2);
    assert.equal(r.status, 0, r.stderr);
    // the training notebooks' own defaults are the small configurations into a scratch store (Run All is safe)
    assert.match(r.stdout, /^notebooks\/02-race-to-85\.ipynb:\n {2}protocol: string = 'race-demo'$/m);
    assert.match(r.stdout, /^ {2}results: string \| null = null$/m);
    assert.match(r.stdout, /^ {2}protocol: string = 'full-182-demo'$/m);
    assert.doesNotMatch(r.stdout, /headless: 'race-demo'|headless: 'full-182-demo'|= 'race-to-85'|= 'full-182'$/m);
    assert.match(r.stdout, /^ {2}results: string \| null = null {2}\(headless: 'data\/example-results\.sqlite'\)$/m);
  });
});

describe('notebooks run headless with their default parameters', () => {
  let tmp: string;
  let outDir: string;
  let result: ReturnType<typeof spawnSync>;
  const committed = new Map<string, string>();
  const userReport = path.join(ROOT, 'reports', 'report.md');
  let userReportBefore: string | null = null;

  before(() => {
    requireJupyter();
    userReportBefore = fs.existsSync(userReport) ? `${fs.statSync(userReport).mtimeMs} ${fs.readFileSync(userReport, 'utf8').length}` : null;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'notebooks-test-'));
    outDir = path.join(tmp, 'out');
    for (const n of NOTEBOOKS) committed.set(n, fs.readFileSync(path.join(ROOT, 'notebooks', n), 'utf8'));
    result = runNotebooks(['--output-dir', outDir, '-p', 'report_dir', path.join(tmp, 'reports')]);
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('every notebook executes in order, with its parameters printed and the injected cell right after the parameters cell', () => {
    assert.equal(result.status, 0, `run-notebooks.sh failed (status ${result.status}, ${result.error ?? ''}):\n${result.stdout}\n${result.stderr}`);
    const stdout = String(result.stdout);
    assert.match(stdout, /^notebooks\/02-race-to-85\.ipynb parameters:\n {2}protocol += 'race-demo'$/m);
    assert.match(stdout, /^ {2}report_dir += '.*notebooks-test-.*reports' {2}\(-p; notebook default 'reports\/notebook-04'\)$/m);
    assert.match(stdout, /^ok: 4 notebooks in [\d.]+ s$/m);
    for (const n of NOTEBOOKS) {
      assert.match(stdout, new RegExp(`^ok\\s+notebooks/${n.replace(/\./g, '\\.')} \\([\\d.]+ s\\)`, 'm'), n);
      const nb = readNb(path.join(outDir, n));
      const p = nb.cells.findIndex((c) => tagged(c, 'parameters'));
      assert.ok(p >= 0 && nb.cells.filter((c) => tagged(c, 'parameters')).length === 1, `${n}: one parameters cell`);
      const injected = nb.cells[p + 1];
      if (n.startsWith('02') || n.startsWith('03')) {
        assert.ok(!tagged(injected, 'injected-parameters'), `${n}: its own defaults (the small configuration) ran, nothing injected`);
      } else {
        assert.ok(tagged(injected, 'injected-parameters') && injected.cell_type === 'code', `${n}: injected cell after the parameters cell`);
      }
      if (n.startsWith('01') || n.startsWith('04')) assert.match(joined(injected.source), /^report_dir = '.*reports'; \/\/ -p$/m, n);
      const code = nb.cells.filter((c) => c.cell_type === 'code');
      assert.ok(code.length > 3, n);
      code.forEach((c, i) => assert.equal(c.execution_count, i + 1, `${n}: code cell ${i} ran in order`));
    }
  });

  it('each executed notebook has its text pair written beside it', () => {
    for (const n of NOTEBOOKS) assertPaired(readNb(path.join(outDir, n)), path.join(outDir, n.replace(/\.ipynb$/, '.ts')), n);
  });

  it('the committed notebooks were not overwritten, reports/report.md untouched', () => {
    for (const n of NOTEBOOKS) assert.equal(fs.readFileSync(path.join(ROOT, 'notebooks', n), 'utf8'), committed.get(n), n);
    const now = fs.existsSync(userReport) ? `${fs.statSync(userReport).mtimeMs} ${fs.readFileSync(userReport, 'utf8').length}` : null;
    assert.equal(now, userReportBefore);
  });

  it('02 and 03 trained their small named configuration, with the estimate before training and a live chart', () => {
    const cases: Array<[string, string, string, string[], number]> = [
      ['02-race-to-85.ipynb', 'race-demo', 'quick', ['step seed 0', 'step seed 1', 'cosine seed 0', 'cosine seed 1'], 2],
      ['03-full-182.ipynb', 'full-182-demo', 'full-182', ['cosine-7 seed 0', 'cosine-14 seed 0', 'step seed 0'], 2],
    ];
    for (const [n, config, protocol, runs, epochs] of cases) {
      const nb = readNb(path.join(outDir, n));
      const injected = joined(nb.cells.find((c) => tagged(c, 'injected-parameters'))?.source);
      assert.doesNotMatch(injected, /^(protocol|results) = /m, `${n}: its own defaults are the small configuration, nothing injected`);
      const text = outputsText(nb);
      assert.ok(text.includes(`parameters: {"protocol":"${config}","seeds":null,`), n);
      assert.match(text, new RegExp(`configuration ${config}: protocol ${protocol} with \\{"seeds":\\d,"maxEpochs":${epochs},"trainFraction":0\\.1\\}`), n);
      assert.match(text, /results store: a new temporary SQLite store/, n);
      const estimate = text.search(/measured in this kernel: \d+ training images\/s, \d+ evaluated images\/s, [\d.]+ s start-up \([\w-]+\)\n[\s\S]*expected duration: [\d.]+ (s|min)/);
      const firstEpoch = text.search(/\] epoch 1\/\d/);
      assert.ok(estimate >= 0 && estimate < firstEpoch, `${n}: the expected duration is printed before training`);
      assert.ok(text.includes(`${runs.length} runs, 0 already finished, ${runs.length} to train`), n);
      for (const r of runs) assert.ok(text.includes(`[${protocol} ${r}] epoch ${epochs}/${epochs}`), `${n}: ${r}`);
      assert.match(text, new RegExp(`trained ${runs.length}, skipped 0 already finished, failed 0 in `), n);
      assert.match(text, /ws-plotly-figure/, `${n}: the live chart output`);
      assert.ok(text.includes(`${runs.length * epochs} epoch records of ${runs.length} runs so far`), `${n}: the live chart's last state`);
      assert.match(text, /temporary store removed/, n);
    }
  });

  it('01 exported its charts into report_dir', () => {
    for (const f of ['lr-schedules.png', 'lr-schedules.svg', 'lr-schedules.html', 'lr-schedules-first-8-epochs.png']) {
      assert.ok(fs.existsSync(path.join(tmp, 'reports', f)), f);
    }
  });

  it('04 analysed the example store: tables, every test, the charts, and the report in report_dir', () => {
    const nb = readNb(path.join(outDir, '04-analysis.ipynb'));
    const text = outputsText(nb);
    assert.match(text, /results store: data\/example-results\.sqlite \(the committed example store\)/);
    assert.match(text, /<table class="ws-frame">/); // danfo frames
    assert.match(text, /\| arm \| n \| reached \| censored \|/); // per-arm table
    for (const s of ['Welch', "Hedges' g", 'Mann–Whitney U', 'Kaplan–Meier', 'Log-rank', 'One-sample Student t-test', '30.5', '90.98%', '91.10%', '8.75%']) {
      assert.ok(text.includes(s), `04 outputs lack "${s}"`);
    }
    assert.match(text, /quick (epochs to target|final test error) cosine - step: Welch/);
    assert.ok((text.match(/class="ws-plotly-figure"/g) ?? []).length >= 6, 'inline charts');
    assert.ok(text.includes(`report folder: ${path.join(tmp, 'reports')}\n`), 'report_dir used');
    assert.match(text, /wrote .*report\.md/);
    assert.match(fs.readFileSync(path.join(tmp, 'reports', 'report.md'), 'utf8'), /## Protocol quick/);
    assert.match(text, /Not interpretable: these runs deviate from the full-182 protocol/);
    assert.ok(text.includes('not the full-182 protocol'), 'caveat in the figures');
  });
});

describe('an injected parameter changes what runs', () => {
  let tmp: string;
  let result: ReturnType<typeof spawnSync>;
  let store: string;
  before(() => {
    requireJupyter();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'notebooks-inject-'));
    store = path.join(tmp, 'store.sqlite');
    result = runNotebooks(['02', '--output-dir', path.join(tmp, 'out'), '-p', 'seeds', '1', '-p', 'arms', 'cosine', '-p', 'max_epochs', '1', '-p', 'results', store], 15);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('02 with -p seeds 1 -p arms cosine -p max_epochs 1 trains exactly that run (read from the store with better-sqlite3)', () => {
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(String(result.stdout), /^ {2}arms += \['cosine'\] {2}\(-p; notebook default null\)$/m);
    const db = new Database(store, { readonly: true });
    try {
      const runs = db.prepare('SELECT protocol, arm, seed, status, config_json FROM runs').all() as Array<{ protocol: string; arm: string; seed: number; status: string; config_json: string }>;
      assert.deepEqual(runs.map((r) => [r.protocol, r.arm, r.seed]), [['quick', 'cosine', 0]]);
      const config = JSON.parse(runs[0].config_json) as { maxEpochs: number; data: { trainFraction: number } };
      assert.equal(config.maxEpochs, 1);
      assert.equal(config.data.trainFraction, 0.1, 'the rest of the race-demo configuration still applies');
      assert.ok(['completed', 'censored'].includes(runs[0].status), runs[0].status);
      assert.equal((db.prepare('SELECT COUNT(*) AS n FROM epochs').get() as { n: number }).n, 1);
    } finally {
      db.close();
    }
    const nb = readNb(path.join(tmp, 'out', '02-race-to-85.ipynb'));
    const injected = joined(nb.cells.find((c) => tagged(c, 'injected-parameters'))!.source);
    assert.match(injected, /^seeds = 1; \/\/ -p$/m);
    assert.match(injected, /^arms = \['cosine'\]; \/\/ -p$/m);
    assert.doesNotMatch(injected, /^protocol = /m, 'race-demo is the notebook\'s own default');
    const text = outputsText(nb);
    assert.ok(text.includes('"seeds":1,"max_epochs":1,'), 'the parameters printed by the notebook');
    assert.ok(text.includes('[quick cosine seed 0] epoch 1/1'));
    assert.ok(!text.includes('[quick step seed'), 'no step run');
    assert.ok(text.includes(`results kept in ${store}`), 'the store is kept');
  });
});

/**
 * The cells of a jupytext `ts:percent` text (read here independently of scripts/jupyter/pairing.py,
 * which writes it): `// %%` starts a code cell, `// %% [markdown]` / `[raw]` a commented cell whose
 * lines lose their `// ` (`//` alone is an empty line), `tags=[...]` after the marker; the
 * `// ---` header is skipped.
 */
function percentCells(text: string): Array<{ cell_type: string; source: string; tags: string[] }> {
  const lines = text.split('\n');
  assert.equal(lines[0], '// ---', 'jupytext header');
  const end = lines.indexOf('// ---', 1);
  const cells: Array<{ cell_type: string; lines: string[]; tags: string[] }> = [];
  for (const line of lines.slice(end + 1)) {
    const m = /^\/\/ %%(?: \[(\w+)\])?(?: tags=(\[.*\]))?$/.exec(line);
    if (m) cells.push({ cell_type: m[1] ?? 'code', lines: [], tags: m[2] ? (JSON.parse(m[2]) as string[]) : [] });
    else if (cells.length) cells[cells.length - 1].lines.push(line);
  }
  return cells.map((c) => {
    const body = c.lines.join('\n').replace(/\n+$/, '');
    return { cell_type: c.cell_type, tags: c.tags, source: c.cell_type === 'code' ? body : body.split('\n').map((l) => l.replace(/^\/\/ ?/, '')).join('\n') };
  });
}

/** Asserts that `pairFile` (ts:percent) holds the notebook's cells: kinds, sources, tags. */
function assertPaired(nb: Notebook, pairFile: string, name: string): void {
  assert.ok(fs.existsSync(pairFile), `${name}: its text pair ${path.basename(pairFile)} exists`);
  const text = fs.readFileSync(pairFile, 'utf8');
  assert.match(text, /^\/\/ ---\n\/\/ jupyter:\n\/\/ {3}jupytext:\n\/\/ {5}formats: ipynb,ts:percent\n[\s\S]*\/\/ {7}format_name: percent\n[\s\S]*\/\/ {5}name: tslab\n\/\/ ---\n/, `${name}: jupytext header`);
  const cells = percentCells(text);
  assert.deepEqual(cells, nb.cells.map((c) => ({ cell_type: c.cell_type, tags: c.metadata?.tags ?? [], source: joined(c.source).replace(/\n+$/, '') })), `${name}: pair and notebook cells`);
}

/** PNG width and height from its IHDR chunk. */
function pngSize(b64: string): { width: number; height: number } {
  const png = Buffer.from(b64, 'base64');
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('text pairs: an edited pair gives its notebook the cells (scripts/jupyter/pairing.py, used by npm run notebooks)', () => {
  it('a pair newer than its notebook and different replaces the cells; an older one changes nothing', () => {
    requireJupyter();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pairing-test-'));
    try {
      const nbFile = path.join(tmp, 'nb.ipynb');
      const pairFile = path.join(tmp, 'nb.ts');
      fs.copyFileSync(path.join(ROOT, 'notebooks', NOTEBOOKS[0]), nbFile);
      const edited = fs.readFileSync(path.join(ROOT, 'notebooks', NOTEBOOKS[0].replace(/\.ipynb$/, '.ts')), 'utf8')
        .replace('// # 01 · Learning-rate schedules', '// # 01 · Edited in the pair') + '\n// %% tags=["added"]\nconsole.log("added in the pair");\n';
      fs.writeFileSync(pairFile, edited);
      const sync = () => spawnSync(PY, ['-c', [
        'import sys, nbformat',
        `sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'scripts', 'jupyter'))})`,
        'import pairing',
        'from run_notebooks import new_cell',
        `p = ${JSON.stringify(nbFile)}`,
        'nb = nbformat.read(p, as_version=4)',
        'changed = pairing.sync_from_pair(nb, p, new_cell)',
        'nbformat.write(nb, p)',
        'print(changed)',
      ].join('\n')], { encoding: 'utf8' });
      // the pair is older: nothing changes
      fs.utimesSync(pairFile, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
      let r = sync();
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), 'False');
      assert.match(joined(readNb(nbFile).cells[0].source), /^# 01 · Learning-rate schedules/);
      // the pair is newer: the notebook takes its cells
      fs.utimesSync(pairFile, new Date(Date.now() + 60_000), new Date(Date.now() + 60_000));
      r = sync();
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), 'True');
      const nb = readNb(nbFile);
      assert.deepEqual(nb.cells.map((c) => ({ cell_type: c.cell_type, tags: c.metadata?.tags ?? [], source: joined(c.source) })), percentCells(edited));
      assert.match(joined(nb.cells[0].source), /^# 01 · Edited in the pair/);
      assert.equal(joined(nb.cells[nb.cells.length - 1].source), 'console.log("added in the pair");');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('committed notebooks', () => {
  const nbs = NOTEBOOKS.map((n) => [n, readNb(path.join(ROOT, 'notebooks', n))] as const);

  it('each is paired with a jupytext ts:percent text holding its cells', () => {
    for (const [n, nb] of nbs) {
      assertPaired(nb, path.join(ROOT, 'notebooks', n.replace(/\.ipynb$/, '.ts')), n);
      assert.deepEqual((nb as unknown as { metadata: { jupytext?: unknown } }).metadata.jupytext, { formats: 'ipynb,ts:percent' }, `${n}: paired in its metadata`);
    }
  });

  it('every chart output carries its static PNG (in the HTML and as image/png), and each notebook stays under 5 MB', () => {
    let charts = 0;
    for (const [n] of nbs) {
      const file = path.join(ROOT, 'notebooks', n);
      assert.ok(fs.statSync(file).size < 5_000_000, `${n}: ${fs.statSync(file).size} bytes`);
      const outputs = readNb(file).cells.flatMap((c) => c.outputs ?? []);
      const figures = outputs.filter((o) => /class="ws-plotly-figure"/.test(joined(o.data?.['text/html'])));
      assert.ok(figures.length >= 1, `${n}: charts`);
      for (const o of figures) {
        const png = joined(o.data?.['image/png']).replace(/\s/g, '');
        assert.ok(png.length > 1000, `${n}: a chart output without image/png`);
        assert.ok(joined(o.data?.['text/html']).includes(`<img class="ws-static-figure" src="data:image/png;base64,${png}"`), `${n}: the HTML shows the same PNG until plotly.js draws`);
        const size = pngSize(png);
        assert.ok(size.width >= 600 && size.height >= 300, `${n}: ${size.width} x ${size.height}`);
      }
      charts += figures.length;
    }
    assert.ok(charts >= 20, `${charts} charts in all`);
    const n04 = readNb(path.join(ROOT, 'notebooks', NOTEBOOKS[3])).cells.flatMap((c) => c.outputs ?? []);
    assert.ok(n04.filter((o) => o.data?.['image/png']).length >= 14, "04 holds the study's charts: 7 per protocol");
  });

  it('each has exactly one parameters cell, then the raw record of the headless run that produced its outputs', () => {
    for (const [n, nb] of nbs) {
      const p = nb.cells.findIndex((c) => tagged(c, 'parameters'));
      assert.equal(nb.cells.filter((c) => tagged(c, 'parameters')).length, 1, n);
      assert.equal(nb.cells[p].cell_type, 'code', n);
      const next = nb.cells[p + 1];
      if (n.startsWith('04')) {
        assert.ok(tagged(next, 'injected-parameters') && next.cell_type === 'raw', `${n}: a raw injected-parameters cell (Jupyter runs the notebook's own defaults)`);
      } else {
        assert.ok(!tagged(next, 'injected-parameters'), `${n}: its own defaults are what ran, nothing injected`);
      }
    }
  });

  it('no cell reads environment variables, NOTEBOOK_SMOKE is gone', () => {
    for (const [n, nb] of nbs) {
      const source = nb.cells.map((c) => joined(c.source)).join('\n');
      assert.doesNotMatch(source, /process\.env|NOTEBOOK_SMOKE|RESULTS_DB|REPORT_DIR \(environment\)/, n);
    }
  });

  it('the saved outputs say which parameters produced them and hold no absolute machine path', () => {
    for (const [n, nb] of nbs) {
      const text = printedText(nb);
      assert.match(text, /^parameters: \{/m, n);
      assert.doesNotMatch(text, /(^|[\s'"(=`])\/(home|root|tmp|work|usr|var|mnt|Users)\//m, `${n}: an absolute path in the outputs`);
      assert.ok(!text.includes(os.tmpdir() + path.sep) && !text.includes(ROOT), n);
    }
    const [, nb02] = nbs[1];
    assert.ok(printedText(nb02).includes('"protocol":"race-demo"'), '02 ran its headless configuration');
    assert.ok(printedText(nbs[2][1]).includes('"protocol":"full-182-demo"'), '03 ran its headless configuration');
  });

  it("04 writes into reports/notebook-04 by default and carries the outputs of the shipped study, as it is in the store", () => {
    const [, nb] = nbs[3];
    const source = nb.cells.map((c) => joined(c.source)).join('\n');
    assert.match(source, /let report_dir: string = 'reports\/notebook-04';/);
    const text = outputsText(nb);
    assert.match(text, /report folder: reports\/notebook-04\n/);
    assert.match(text, /wrote reports\/notebook-04\/report\.md/);
    assert.match(text, /^results store: studies\/resnet20-cifar10\.sqlite\n/m);
    // the counts it printed are the shipped store's (read here with SQL, not through the workspace):
    // outputs saved before the study was last shipped fail here (scripts/study/ship.sh re-runs 04)
    const db = new Database(path.join(ROOT, 'studies', 'resnet20-cifar10.sqlite'), { readonly: true, fileMustExist: true });
    try {
      const count = (sql: string, ...args: string[]) => (db.prepare(sql).get(...args) as { n: number }).n;
      assert.match(text, new RegExp(`^${count('SELECT count(*) AS n FROM runs')} runs, ${count('SELECT count(*) AS n FROM epochs')} epoch records$`, 'm'));
      for (const [protocol, total] of [['race-to-85', 40], ['full-182', 30]] as const) {
        const finished = count("SELECT count(*) AS n FROM runs WHERE protocol = ? AND status IN ('completed', 'censored', 'diverged')", protocol);
        assert.match(text, new RegExp(`^${protocol}: ${finished} finished runs? of the protocol's ${total} `, 'm'), protocol);
      }
    } finally {
      db.close();
    }
    // executed in order; the injected cell ran (a count) before it was kept as a raw cell
    let count = 1;
    nb.cells.forEach((c, i) => {
      if (c.cell_type === 'code') assert.equal(c.execution_count, count++, `cell ${i} executed in order`);
      else if (tagged(c, 'injected-parameters')) count++;
    });
    assert.ok(count > 20);
  });
});
