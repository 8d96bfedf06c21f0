/**
 * Per-kernel speed of the ResNet-20 convolutions on the wasm backend (batch 128 by default):
 * stock kernels (XNNPACK forward conv, naive Conv2DBackpropInput; the stock backend has no
 * Conv2DBackpropFilter, so the XNNPACK transposed-conv route stands in for it) against the
 * generated SIMD kernels of src/engine/wasm, in GFLOP/s (2 * multiply-adds / time, best of reps).
 *
 *   node dist/bench/kernels.js [--batch 128] [--reps 5] [--no-stock]
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels } from '../engine/wasm';
import { setConvRoute, setFilterGradRoute } from '../engine/wasm/conv';

const SHAPES: [number, number, number, 1 | 2][] = [
  [32, 3, 16, 1], [32, 16, 16, 1], [16, 32, 32, 1], [8, 64, 64, 1], [32, 16, 32, 2], [16, 32, 64, 2],
];

function best(f: () => void, reps: number): number {
  f();
  let b = Infinity;
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    f();
    b = Math.min(b, performance.now() - t);
  }
  return b;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opt = (name: string, def: number) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : def;
  };
  const n = opt('--batch', 128);
  const reps = opt('--reps', 5);
  const stock = !argv.includes('--no-stock');
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend unavailable');
  await tf.ready();
  const stockInput = tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc;
  registerWasmKernels();
  const rows: Record<string, unknown>[] = [];
  for (const [h, cin, cout, s] of SHAPES) {
    const x = tf.randomNormal([n, h, h, cin]) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, cin, cout]) as tf.Tensor4D;
    const dy = tf.randomNormal([n, h / s, h / s, cout]) as tf.Tensor4D;
    const gf = (ms: number) => Number(((2 * n * (h / s) * (h / s) * cin * cout * 9) / ms / 1e6).toFixed(1));
    const run = (f: () => tf.Tensor) => () => tf.dispose(f());
    const fwd = run(() => tf.conv2d(x, w, s, 1));
    const dx = run(() => tf.conv2dTranspose(dy, w, x.shape, s, 1));
    const dw = run(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: s, pad: 1, dataFormat: 'NHWC', filterShape: w.shape }) as tf.Tensor);
    const row: Record<string, unknown> = { shape: `${h}x${h}x${cin}->${cout} s${s}` };
    if (stock) {
      setConvRoute('xnnpack');
      setFilterGradRoute('xnnpack');
      row.stockForward = gf(best(fwd, reps));
      if (stockInput) {
        const k = tf.getKernel('Conv2DBackpropInput', 'wasm');
        tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
        tf.registerKernel({ kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc: stockInput });
        row.stockInputGrad = gf(best(dx, 1));
        tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
        if (k) tf.registerKernel(k);
      }
      row.xnnpackInputGrad = gf(best(dx, reps));
      row.xnnpackFilterGrad = gf(best(dw, reps));
    }
    setConvRoute('simd');
    setFilterGradRoute('simd');
    row.forward = gf(best(fwd, reps));
    row.inputGrad = gf(best(dx, reps));
    row.filterGrad = gf(best(dw, reps));
    rows.push(row);
    console.log(JSON.stringify(row));
    tf.dispose([x, w, dy]);
  }
  console.log(JSON.stringify({ batch: n, unit: 'GFLOP/s', kernels: rows }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
