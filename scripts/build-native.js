#!/usr/bin/env node
// Builds the optional oneDNN convolutions (native/onednn -> native/onednn/build/Release/onednn.node)
// at `npm install` (postinstall) when a C++ compiler and oneDNN's headers (Debian: libdnnl-dev) are
// present. It never fails the install: whatever is missing is said in one line and the engine uses
// its wasm kernels (src/engine/onednn.ts decides at run time). Nothing is downloaded: node-gyp is
// npm's own and the Node headers are the installed ones when present.
//
//   node scripts/build-native.js [--dir DIR]     (DIR: the addon's folder, default native/onednn)
//   WS_ONEDNN=0 npm ci                           (skip the build)
//   ONEDNN_ROOT=/opt/onednn npm ci               (a oneDNN with include/ and lib/ elsewhere)
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const dirArg = process.argv.indexOf('--dir');
if (dirArg > 0 && !process.argv[dirArg + 1]) {
  console.error('build-native: --dir needs the addon\'s folder (the one with binding.gyp)');
  process.exit(2);
}
const dir = dirArg > 0 ? path.resolve(process.argv[dirArg + 1]) : path.join(root, 'native', 'onednn');
if (!fs.existsSync(path.join(dir, 'binding.gyp'))) {
  console.error(`build-native: ${dir} has no binding.gyp`);
  process.exit(2);
}
const addon = path.join(dir, 'build', 'Release', 'onednn.node');
const fallback = 'the engine uses its wasm kernels';

function say(line) {
  console.log(`native: ${line}`);
}

function notBuilt(why, hint) {
  // an addon of an earlier build would still be used: a "not built" line means none is there
  fs.rmSync(addon, { force: true });
  say(`oneDNN convolutions not built: ${why}${hint ? ` (${hint})` : ''}; ${fallback}.`);
  process.exit(0);
}

if (['0', 'false', 'off', 'no'].includes((process.env.WS_ONEDNN ?? '').trim().toLowerCase())) notBuilt(`WS_ONEDNN=${process.env.WS_ONEDNN}`);
if (process.platform !== 'linux' && process.platform !== 'darwin') notBuilt(`platform ${process.platform} is not supported`);

// ONEDNN_ROOT: a oneDNN installed elsewhere (include/, lib/); only that one is used then.
const includeDirs = process.env.ONEDNN_ROOT ? [path.join(process.env.ONEDNN_ROOT, 'include')] : ['/usr/include', '/usr/local/include', '/opt/homebrew/include'];
if (!includeDirs.some((d) => fs.existsSync(path.join(d, 'dnnl.hpp')))) {
  notBuilt(`dnnl.hpp not found in ${includeDirs.join(', ')}`, 'Debian/Ubuntu: apt-get install libdnnl-dev');
}

const cxx = process.env.CXX || 'c++';
const probe = spawnSync(cxx, ['--version'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) notBuilt(`no C++ compiler (${cxx})`, 'apt-get install g++');
const make = spawnSync('make', ['--version'], { encoding: 'utf8' });
if (make.error || make.status !== 0) notBuilt('no make', 'apt-get install make');

const candidates = [
  process.env.npm_config_node_gyp,
  path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
];
try { candidates.push(require.resolve('node-gyp/bin/node-gyp.js')); } catch { /* not a dependency */ }
const gyp = candidates.find((f) => f && fs.existsSync(f));
if (!gyp) notBuilt('node-gyp not found (it comes with npm)');

// The installed Node's own headers, so that node-gyp does not try to download them.
const nodeDir = path.resolve(path.dirname(process.execPath), '..');
const args = [gyp, 'rebuild', '--directory', dir];
if (fs.existsSync(path.join(nodeDir, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${nodeDir}`);

const t0 = Date.now();
const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, JOBS: '1' } });
const log = path.join(dir, 'build.log');
try {
  fs.writeFileSync(log, `${r.stdout ?? ''}${r.stderr ?? ''}`);
} catch { /* read-only checkout: the message below is enough */ }
if (r.error || r.status !== 0) {
  const tail = `${r.stderr ?? ''}`.split('\n').filter((l) => /error/i.test(l)).slice(0, 2).join(' | ');
  fs.rmSync(addon, { force: true });
  notBuilt(`the compile failed${tail ? `: ${tail.slice(0, 300)}` : ''}`, `see ${path.relative(root, log)}`);
}

// Load it once in a fresh process: a library that does not load (e.g. libdnnl.so missing) must not stay.
const check = spawnSync(process.execPath, ['-e', `const m = require(${JSON.stringify(addon)}); const i = m.info(); console.log(i.version + ' ' + i.isa)`], { encoding: 'utf8' });
if (check.status !== 0) {
  fs.rmSync(addon, { force: true });
  notBuilt(`the built addon does not load: ${(check.stderr || '').split('\n').find((l) => l.trim()) ?? 'unknown error'}`);
}
const [version, isa] = check.stdout.trim().split(' ');
say(`oneDNN convolutions built in ${((Date.now() - t0) / 1000).toFixed(0)} s (oneDNN ${version}, ${isa}): ${path.relative(root, addon)}`);
