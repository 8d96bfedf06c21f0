/**
 * Reliability/safety of `npm run lab` (scripts/jupyter/lab.sh): the notebook server listens on
 * 127.0.0.1 only and requires its token. Starts the real server on a free port (JUPYTER_PORT) with
 * a known token (JUPYTER_TOKEN), checks requests without / with a wrong token are refused and with
 * the token accepted, that the listening socket is bound to 127.0.0.1 only (/proc/net/tcp, tcp6)
 * and not reachable on the machine's other interface addresses, then stops it.
 * Fails (unless WS_ALLOW_MISSING=jupyter) when no Jupyter python (JUPYTER_PYTHON, default /usr/bin/python3 with notebook) is found.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import { spawn, spawnSync } from 'node:child_process';
import { ROOT, tmpDir } from './helpers';
import { sleep } from './fixtures/reliability/support';
import { requireComponent } from './fixtures/components';

const PY = process.env.JUPYTER_PYTHON || '/usr/bin/python3';
const LAB = path.join(ROOT, 'scripts', 'jupyter', 'lab.sh');
const hasJupyter = (() => {
  const r = spawnSync(PY, ['-c', 'import notebook, jupyter_client'], { encoding: 'utf8' });
  return !r.error && r.status === 0;
})();
const NO_JUPYTER = requireComponent('jupyter', hasJupyter ? false : `no Jupyter python (${PY} cannot import notebook)`, __filename);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function get(host: string, port: number, urlPath: string, headers: Record<string, string> = {}): Promise<{ status: number; location?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: urlPath, headers, timeout: 10000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Local addresses of LISTEN sockets on a port, from /proc/net/tcp and tcp6 (hex, as the kernel writes them). */
function listeners(port: number): string[] {
  const out: string[] = [];
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(f)) continue;
    for (const line of fs.readFileSync(f, 'utf8').trim().split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const [addr, p] = cols[1].split(':');
      if (cols[3] === '0A' && parseInt(p, 16) === port) out.push(addr);
    }
  }
  return out;
}

function connect(host: string, port: number): Promise<'connected' | string> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 3000 });
    s.once('connect', () => { s.destroy(); resolve('connected'); });
    s.once('timeout', () => { s.destroy(); resolve('ETIMEDOUT'); });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

test('lab.sh refuses options that would open it up', { skip: NO_JUPYTER }, () => {
  for (const arg of ['--ip=0.0.0.0', '--NotebookApp.token=', '--NotebookApp.allow_remote_access=True']) {
    const r = spawnSync('bash', [LAB, arg], { encoding: 'utf8', timeout: 30000, env: { ...process.env, JUPYTER_PORT: '1' } });
    assert.equal(r.status, 1, arg);
    assert.match(r.stderr, /^error: option '.*' is not allowed: this script always listens on 127\.0\.0\.1 with token authentication/, arg);
  }
});

test('npm run lab: listens on 127.0.0.1 only and requires its token', { skip: NO_JUPYTER, timeout: 120000 }, async () => {
  const port = await freePort();
  const token = `reliability${Date.now().toString(16)}`;
  const runtime = tmpDir('ws-rel-jupyter-');
  const child = spawn('bash', [LAB], {
    cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, JUPYTER_PORT: String(port), JUPYTER_TOKEN: token, JUPYTER_RUNTIME_DIR: runtime, JUPYTER_PYTHON: PY },
  });
  let output = '';
  child.stdout!.on('data', (d) => { output += d; });
  child.stderr!.on('data', (d) => { output += d; });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  try {
    // up?
    const t0 = Date.now();
    for (;;) {
      if (child.exitCode !== null) assert.fail(`lab.sh exited: ${output}`);
      if ((await connect('127.0.0.1', port)) === 'connected') break;
      if (Date.now() - t0 > 90000) assert.fail(`server did not start on port ${port}: ${output}`);
      await sleep(300);
    }
    assert.match(output, new RegExp(`Listening on 127\\.0\\.0\\.1:${port} only, token required`));

    // without the token, or with a wrong one: refused
    const api = await get('127.0.0.1', port, '/api/contents');
    assert.equal(api.status, 403, 'API without token');
    const tree = await get('127.0.0.1', port, '/tree');
    assert.equal(tree.status, 302, 'page without token redirects to the login');
    assert.match(tree.location ?? '', /^\/login\?next=/);
    assert.equal((await get('127.0.0.1', port, '/api/contents', { Authorization: 'token wrong-token' })).status, 403, 'wrong token');
    assert.equal((await get('127.0.0.1', port, '/api/contents?token=wrong-token')).status, 403, 'wrong token in the URL');
    // with the token: accepted
    const ok = await get('127.0.0.1', port, '/api/contents', { Authorization: `token ${token}` });
    assert.equal(ok.status, 200, 'API with token');
    assert.ok(Array.isArray((JSON.parse(ok.body) as { content: unknown[] }).content), 'lists the notebooks folder');
    assert.equal((await get('127.0.0.1', port, `/tree?token=${token}`)).status, 200, 'page with the token in the URL');

    // bound to 127.0.0.1 only
    const bound = listeners(port);
    assert.deepEqual(bound, ['0100007F'], `listening sockets on ${port}: ${bound.join(', ')}`);
    const others = Object.values(os.networkInterfaces()).flat().filter((a) => a && !a.internal && a.family === 'IPv4' && !a.address.startsWith('127.'));
    for (const a of others) {
      assert.equal(await connect(a!.address, port), 'ECONNREFUSED', `not reachable on ${a!.address}`);
    }
    assert.equal(await connect('::1', port).then((r) => (r === 'connected' ? 'connected' : 'refused')), 'refused', 'not on IPv6 loopback either');
  } finally {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    const stopped = await Promise.race([exited.then(() => true), sleep(15000).then(() => false)]);
    if (!stopped) {
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
    }
    fs.rmSync(runtime, { recursive: true, force: true });
  }
  assert.notEqual(await connect('127.0.0.1', port), 'connected', 'stopped');
});
