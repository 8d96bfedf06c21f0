const tf = require('@tensorflow/tfjs');
const { selectEngine } = require('./dist/engine/engine');
const { createTrainState, trainStep } = require('./dist/train/step');
(async () => {
  await selectEngine({ backend: process.argv[2] || 'onednn' });
  const times = new Map();
  for (const k of tf.getKernelsForBackend('wasm')) {
    const f = k.kernelFunc;
    tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel({ ...k, kernelFunc: (a) => { const t0 = performance.now(); const r = f(a); const key = k.kernelName.startsWith('Conv2D') ? k.kernelName + ' ' + JSON.stringify((a.inputs.x||a.inputs.dy).shape) : k.kernelName; const e = times.get(key) || [0, 0]; e[0] += performance.now() - t0; e[1]++; times.set(key, e); return r; } });
  }
  const state = createTrainState({ depth: 20, seed: 1, momentum: 0.9, weightDecay: 1e-4 });
  const x = new Float32Array(128 * 3072).map(() => Math.random()); const y = Int32Array.from({ length: 128 }, (_, i) => i % 10);
  for (let i = 0; i < 3; i++) trainStep(state, x, y, 0.1);
  times.clear();
  const t0 = performance.now(); const N = 10;
  for (let i = 0; i < N; i++) trainStep(state, x, y, 0.1);
  const tot = (performance.now() - t0) / N;
  let ks = 0;
  const rows = [...times].sort((a, b) => b[1][0] - a[1][0]);
  for (const [n, [t, c]] of rows) ks += t / N;
  console.log(`step ${tot.toFixed(1)} ms, in kernels ${ks.toFixed(1)} ms`);
  for (const [n, [t, c]] of rows.slice(0, 22)) console.log(`${(t / N).toFixed(1).padStart(7)} ms  ${String(c / N).padStart(4)} calls  ${n}`);
})();
