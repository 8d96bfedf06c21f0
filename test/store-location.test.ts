/**
 * A mistyped results store URL is an error naming its scheme, never a SQLite path (issue 20): no
 * folder named after it, nothing trained, no password in any output; the same for RESULTS_URL and
 * for read commands. And the notebooks' runner moves a URL's password into the kernels' PGPASSWORD
 * before anything is printed or injected (scripts/jupyter/redact.py, run by /usr/bin/python3).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, tmpDir } from './helpers';
import { makeMiniDataset, runCli, tinyProtocolFile } from './fixtures/reliability/support';

const SECRET = 'Pw-not-to-be-seen-31337';

test('mistyped URL schemes and USER:PASSWORD@HOST: one line naming the scheme, no folder, nothing trained, no password', () => {
  const dir = tmpDir('ws-location-');
  const data = makeMiniDataset({ train: 200, test: 20 });
  const file = tinyProtocolFile(dir);
  const before = fs.readdirSync(ROOT).sort();
  const cases: [string, string][] = [
    [`postgress://study:${SECRET}@db-host/nb`, '"postgress://"'],
    [`postgres:/study:${SECRET}@db-host/nb`, '"postgres:/"'],
    [`postgresql+psycopg2://study:${SECRET}@db-host/nb`, '"postgresql+psycopg2://"'],
    [`mysql://study:${SECRET}@db-host/nb`, '"mysql://"'],
    [`study:${SECRET}@db-host/nb`, 'looks like USER:PASSWORD@HOST without a scheme'],
  ];
  for (const [value, named] of cases) {
    for (const [args, env] of [
      [['experiment', '--protocol-file', file, '--data', data, '--workers', '0', '--results', value], {}],
      [['experiment', '--protocol-file', file, '--data', data, '--workers', '0'], { RESULTS_URL: value }],
      [['status', '--results', value], {}],
      [['copy-store', '--from', path.join(dir, 'none.sqlite'), '--to', value], {}],
    ] as [string[], NodeJS.ProcessEnv][]) {
      const r = runCli(args, { env, timeoutMs: 60000 });
      const out = r.stdout + r.stderr;
      assert.equal(r.status, 1, `${args[0]} ${value}: ${out}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, out);
      assert.ok(r.stderr.startsWith('error: results store: ') && r.stderr.includes(named), out);
      assert.ok(!out.includes(SECRET), `password shown: ${out}`);
      assert.doesNotMatch(out, /epoch 1|initialised/);
    }
  }
  assert.deepEqual(fs.readdirSync(ROOT).sort(), before, 'no file or folder created in the project');
  assert.deepEqual(fs.readdirSync(dir), ['tiny.json'], 'nothing beside the protocol file');
});

test('notebooks: a URL password becomes PGPASSWORD, the value keeps no password; other schemes are refused without the value', () => {
  const py = `
import json, sys
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'scripts', 'jupyter'))})
from redact import move_passwords, strip_password
from parameters import ParameterError
plans = [["nb", None, 0, {"results": "postgres://study:${SECRET}@db-host:5433/nb", "seeds": 2}], ["nb2", None, 0, {"results": "postgresql://study@db-host/nb"}]]
pw = move_passwords(plans)
out = {"pw": pw, "values": [p[3] for p in plans], "errors": []}
for v in ["postgress://u:${SECRET}@h/d", "postgresql+psycopg2://u:${SECRET}@h/d", "u:${SECRET}@h/d"]:
    try:
        strip_password("results", v)
    except ParameterError as e:
        out["errors"].append(str(e))
try:
    move_passwords([["a", None, 0, {"results": "postgres://u:one@h/d"}], ["b", None, 0, {"results": "postgres://u:two@h/d"}]])
except ParameterError as e:
    out["errors"].append(str(e))
print(json.dumps(out))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { pw: string; values: Record<string, unknown>[]; errors: string[] };
  assert.equal(got.pw, SECRET);
  assert.deepEqual(got.values, [{ results: 'postgres://study@db-host:5433/nb', seeds: 2 }, { results: 'postgresql://study@db-host/nb' }]);
  assert.equal(got.errors.length, 4);
  assert.match(got.errors[0], /^parameter results: 'postgress:\/\/' is not a results store URL scheme/);
  assert.match(got.errors[1], /^parameter results: 'postgresql\+psycopg2:\/\/' is not a results store URL scheme/);
  assert.match(got.errors[2], /^parameter results looks like USER:PASSWORD@HOST without a scheme/);
  assert.match(got.errors[3], /2 different passwords/);
  assert.ok(!got.errors.join('\n').includes(SECRET));
});
