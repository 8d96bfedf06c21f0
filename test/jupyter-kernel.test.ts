/**
 * Smoke test of the Jupyter setup: registers the tslab kernel into a temporary prefix with
 * scripts/jupyter/install-kernel.sh, then runs tiny notebooks (written to a temp dir) through
 * scripts/jupyter/run-notebooks.sh (nbclient): one that imports the project's dist/index.js and
 * prints values, and one with a failing cell that must be reported with its index, source and error.
 *
 * Needs `npm run build` (dist/) and a python with jupyter_client + nbclient (JUPYTER_PYTHON,
 * default /usr/bin/python3); without it the suite fails, unless WS_ALLOW_MISSING=jupyter.
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
const DIST_INDEX = path.join(ROOT, 'dist', 'index.js');

function skipReason(): string | false {
  if (!fs.existsSync(DIST_INDEX)) return `no ${DIST_INDEX}: run npm run build`;
  const r = spawnSync(PY, ['-c', 'import jupyter_client, nbclient, nbformat'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `${PY} lacks jupyter_client/nbclient (set JUPYTER_PYTHON)`;
  return false;
}
const SKIP = requireComponent('jupyter', skipReason(), __filename);

type Cell = { cell_type: 'code' | 'markdown'; source: string; metadata?: Record<string, unknown> };

function writeNotebook(file: string, cells: Cell[]): void {
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' } },
    cells: cells.map((c, i) => ({
      id: `cell-${i}`,
      cell_type: c.cell_type,
      metadata: c.metadata ?? {},
      source: c.source,
      ...(c.cell_type === 'code' ? { outputs: [], execution_count: null } : {}),
    })),
  };
  fs.writeFileSync(file, JSON.stringify(nb, null, 1));
}

interface NbOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
}

function outputsText(outputs: NbOutput[]): string {
  return outputs
    .map((o) => {
      const t = o.text ?? o.data?.['text/plain'] ?? '';
      return Array.isArray(t) ? t.join('') : t;
    })
    .join('');
}

describe('tslab kernel through nbclient', { skip: SKIP }, () => {
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'jupyter-kernel-test-'));
    env = { ...process.env, JUPYTER_LOCAL_PREFIX: path.join(tmp, 'prefix'), RESULTS_DB: path.join(tmp, 'results.sqlite') };
    const r = spawnSync('bash', [path.join(ROOT, 'scripts/jupyter/install-kernel.sh')], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, `install-kernel.sh failed:\n${r.stdout}\n${r.stderr}`);
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('registers kernel "tslab" with absolute node and tslab paths', () => {
    const spec = JSON.parse(fs.readFileSync(path.join(tmp, 'prefix/share/jupyter/kernels/tslab/kernel.json'), 'utf8'));
    assert.equal(spec.language, 'typescript');
    assert.ok(path.isAbsolute(spec.argv[0]) && fs.existsSync(spec.argv[0]), `node: ${spec.argv[0]}`);
    assert.equal(spec.argv[1], path.join(ROOT, 'node_modules/tslab/bin/tslab'));
    assert.deepEqual(spec.argv.slice(2), ['kernel', '--config-path', '{connection_file}']);
    const list = spawnSync(PY, ['-m', 'jupyter', 'kernelspec', 'list'], {
      env: { ...env, JUPYTER_PATH: path.join(tmp, 'prefix/share/jupyter') },
      encoding: 'utf8',
    });
    assert.match(list.stdout, new RegExp(`tslab\\s+${path.join(tmp, 'prefix/share/jupyter/kernels/tslab').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });

  it('executes a notebook importing dist/index.js and saves the outputs', () => {
    const nbDir = path.join(tmp, 'nbs');
    fs.mkdirSync(nbDir);
    const file = path.join(nbDir, 'ok.ipynb');
    writeNotebook(file, [
      { cell_type: 'markdown', source: '# smoke' },
      {
        cell_type: 'code',
        source: [
          `import * as ws from ${JSON.stringify(DIST_INDEX.replace(/\.js$/, ''))};`,
          "console.log('paper error', 100 * ws.PAPER_TEST_ERROR);",
          "const fig = ws.scheduleFigure([{ name: 'a', learningRates: [0.1, 0.1, 0.01] }]);",
          "console.log('points', JSON.stringify(fig.data[0].y));",
          "console.log('cwd', process.cwd());",
          "console.log('db', process.env.RESULTS_DB);",
        ].join('\n'),
      },
      { cell_type: 'code', source: 'const n: number = 40;\nn + 2' },
    ]);
    const r = spawnSync('bash', [path.join(ROOT, 'scripts/jupyter/run-notebooks.sh'), '--timeout', '300', file], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, `run-notebooks.sh failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^ok\s+.*ok\.ipynb/m);
    const nb = JSON.parse(fs.readFileSync(file, 'utf8')) as { cells: Array<{ outputs?: NbOutput[]; execution_count?: number }> };
    const out1 = outputsText(nb.cells[1].outputs ?? []);
    assert.match(out1, /paper error 8\.75/);
    assert.match(out1, /points \[0\.1,0\.1,0\.01\]/);
    assert.ok(out1.includes(`cwd ${fs.realpathSync(nbDir)}`) || out1.includes(`cwd ${nbDir}`), out1);
    assert.ok(out1.includes(`db ${path.join(tmp, 'results.sqlite')}`), out1);
    // the value of the last expression is the cell's Out[n] (execute_result), not stdout
    assert.deepEqual((nb.cells[2].outputs ?? []).map((o) => o.output_type), ['execute_result']);
    assert.match(outputsText(nb.cells[2].outputs ?? []), /^42\s*$/);
    assert.equal(nb.cells[2].execution_count, 2);
  });

  it('reports a failing cell with its index, source and error, exits non-zero, keeps the notebook', () => {
    const file = path.join(tmp, 'bad.ipynb');
    writeNotebook(file, [
      { cell_type: 'code', source: "console.log('first');" },
      { cell_type: 'markdown', source: 'text' },
      { cell_type: 'code', source: "const marker = 'cell-three';\nthrow new Error('boom-42 ' + marker);" },
      { cell_type: 'code', source: "console.log('never runs');" },
    ]);
    const before = fs.readFileSync(file, 'utf8');
    const outDir = path.join(tmp, 'out');
    const r = spawnSync('bash', [path.join(ROOT, 'scripts/jupyter/run-notebooks.sh'), '--output-dir', outDir, file], { env, encoding: 'utf8' });
    assert.equal(r.status, 1, `expected exit 1:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /FAILED: .*bad\.ipynb/);
    assert.match(r.stderr, /cell index 2 /);
    assert.match(r.stderr, /throw new Error\('boom-42 ' \+ marker\);/); // the source
    assert.match(r.stderr, /Error: boom-42 cell-three/); // the error (tslab: on stderr)
    assert.equal(fs.readFileSync(file, 'utf8'), before, 'a failed notebook is not overwritten in place');
    const partial = JSON.parse(fs.readFileSync(path.join(outDir, 'bad.ipynb'), 'utf8')) as { cells: Array<{ outputs?: NbOutput[] }> };
    assert.match(outputsText(partial.cells[0].outputs ?? []), /first/);
    assert.equal((partial.cells[3].outputs ?? []).length, 0);
  });

  it('reports TypeScript type errors as failures', () => {
    const file = path.join(tmp, 'types.ipynb');
    writeNotebook(file, [{ cell_type: 'code', source: "const s: number = 'not a number';" }]);
    const r = spawnSync('bash', [path.join(ROOT, 'scripts/jupyter/run-notebooks.sh'), file], { env, encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cell index 0 /);
    assert.match(r.stderr, /Type 'string' is not assignable to type 'number'/);
  });

  it('allows a failing cell tagged raises-exception', () => {
    const file = path.join(tmp, 'tagged.ipynb');
    writeNotebook(file, [
      { cell_type: 'code', source: "throw new Error('expected');", metadata: { tags: ['raises-exception'] } },
      { cell_type: 'code', source: "console.log('after');" },
    ]);
    const r = spawnSync('bash', [path.join(ROOT, 'scripts/jupyter/run-notebooks.sh'), file], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });
});
