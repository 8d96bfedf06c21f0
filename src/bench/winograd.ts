/**
 * Direct SIMD convolution kernels against Winograd F(m x m, 3 x 3) (src/engine/wasm/winograd.ts,
 * winograd-dw.ts) on the stride-1 pad-1 3x3 convolutions of ResNet-20, on the wasm backend: median
 * CPU milliseconds of the forward pass, the input gradient and the filter gradient per route (the
 * routes measured alternately, reps times), and the largest difference between the routes relative
 * to the largest value.
 *
 *   node dist/bench/winograd.js [--batch 128] [--reps 5] [--m 2|4] [--block BYTES] [--tile TILESxVECTORS]
 *
 * Prints one JSON line per shape, then a summary line.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels } from '../engine/wasm';
import { setConvRoute } from '../engine/wasm/conv';
import { setWinogradBlockBytes, setWinogradGemmTile, setWinogradTile } from '../engine/wasm/winograd';

const SHAPES: [number, number, number][] = [[32, 16, 16], [16, 32, 32], [8, 64, 64]];

/**
 * Median CPU milliseconds (user + system of this process) of f: on a shared machine the CPU time
 * of a single-threaded kernel is far steadier than its wall time.
 */
function median(f: () => void, reps: number): number {
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const s = process.cpuUsage();
    f();
    const d = process.cpuUsage(s);
    t.push((d.user + d.system) / 1000);
  }
  t.sort((x, y) => x - y);
  return Number(t[Math.floor(t.length / 2)].toFixed(2));
}

function relDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) { m = Math.max(m, Math.abs(a[i] - b[i])); s = Math.max(s, Math.abs(b[i])); }
  return m / s;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      batch: { type: 'string', default: '128' }, reps: { type: 'string', default: '5' }, m: { type: 'string', default: '2' },
      block: { type: 'string' }, tile: { type: 'string' },
    },
  });
  const n = Number(values.batch);
  const reps = Number(values.reps);
  setWinogradTile(values.m === '4' ? 4 : 2);
  if (values.block) setWinogradBlockBytes(Number(values.block));
  if (values.tile) { const [t, v] = values.tile.split('x').map(Number); setWinogradGemmTile(t, v); }
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend unavailable');
  await tf.ready();
  registerWasmKernels();
  const rows: Record<string, unknown>[] = [];
  for (const [h, c, f] of SHAPES) {
    const x = tf.randomNormal([n, h, h, c]) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, c, f], 0, Math.sqrt(2 / (9 * c))) as tf.Tensor4D;
    const dy = tf.randomNormal([n, h, h, f]) as tf.Tensor4D;
    const fwd = () => tf.conv2d(x, w, 1, 1);
    const dx = () => tf.conv2dTranspose(dy, w, x.shape, 1, 1);
    const dw = () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 1, dataFormat: 'NHWC', filterShape: w.shape }) as tf.Tensor;
    const row: Record<string, unknown> = { shape: `${h}x${h}x${c}->${f}`, batch: n, m: Number(values.m) };
    const kinds = { Forward: fwd, InputGrad: dx, FilterGrad: dw };
    const times: Record<string, number[]> = {};
    const routes = ['simd', 'winograd'] as const;
    for (const route of routes) { setConvRoute(route); for (const k of Object.values(kinds)) tf.dispose(k()); } // compile, warm up
    for (let r = 0; r < reps; r++) {
      for (const route of routes) {
        setConvRoute(route);
        for (const [name, k] of Object.entries(kinds)) (times[route + name] ??= []).push(median(() => tf.dispose(k()), 1));
      }
    }
    for (const [key, t] of Object.entries(times)) row[`${key}Ms`] = t.sort((p, q) => p - q)[Math.floor(t.length / 2)];
    for (const name of Object.keys(kinds)) {
      const o = routes.map((route) => { setConvRoute(route); return tf.tidy(() => kinds[name as keyof typeof kinds]().dataSync() as Float32Array); });
      const key = name[0].toLowerCase() + name.slice(1);
      row[`${key}Speedup`] = Number(((row[`simd${name}Ms`] as number) / (row[`winograd${name}Ms`] as number)).toFixed(2));
      row[`${key}RelDiff`] = Number(relDiff(o[1], o[0]).toExponential(2));
    }
    setConvRoute('simd');
    rows.push(row);
    console.log(JSON.stringify(row));
    tf.dispose([x, w, dy]);
  }
  console.log(JSON.stringify({ batch: n, m: Number(values.m), unit: 'CPU ms (median)', shapes: rows }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
