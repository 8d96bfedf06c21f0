/**
 * Direct SIMD convolution rows against Winograd F(m x m, 3 x 3) (src/engine/wasm/winograd.ts) on
 * the stride-1 pad-1 3x3 convolutions of ResNet-20, on the wasm backend: median milliseconds of
 * the forward pass and of the input gradient per route, and the largest difference between the
 * routes relative to the largest output.
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

function median(f: () => void, reps: number): number {
  f();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const s = performance.now();
    f();
    t.push(performance.now() - s);
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
    const row: Record<string, unknown> = { shape: `${h}x${h}x${c}->${f}`, batch: n, m: Number(values.m) };
    const out: Record<string, Float32Array[]> = { fwd: [], dx: [] };
    for (const route of ['simd', 'winograd'] as const) {
      setConvRoute(route);
      row[`${route}ForwardMs`] = median(() => tf.dispose(fwd()), reps);
      row[`${route}InputGradMs`] = median(() => tf.dispose(dx()), reps);
      out.fwd.push(tf.tidy(() => fwd().dataSync() as Float32Array));
      out.dx.push(tf.tidy(() => dx().dataSync() as Float32Array));
    }
    setConvRoute('simd');
    row.forwardSpeedup = Number(((row.simdForwardMs as number) / (row.winogradForwardMs as number)).toFixed(2));
    row.inputGradSpeedup = Number(((row.simdInputGradMs as number) / (row.winogradInputGradMs as number)).toFixed(2));
    row.forwardRelDiff = Number(relDiff(out.fwd[1], out.fwd[0]).toExponential(2));
    row.inputGradRelDiff = Number(relDiff(out.dx[1], out.dx[0]).toExponential(2));
    rows.push(row);
    console.log(JSON.stringify(row));
    tf.dispose([x, w, dy]);
  }
  console.log(JSON.stringify({ batch: n, m: Number(values.m), unit: 'ms (median)', shapes: rows }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
