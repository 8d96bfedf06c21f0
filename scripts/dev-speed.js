const ws = require('/work/main/dist/index.js');
const tf = require('/work/main/node_modules/@tensorflow/tfjs');
(async () => {
  const eng = await ws.selectEngine({ backend: process.argv[2] || 'wasm' });
  console.log(eng);
  const st = ws.createTrainState({ seed: 1 });
  console.log('params', st.model.parameterCount());
  const ds = ws.loadCifar10('/work/main/data/cifar-10-subset');
  const B = +process.argv[3] || 32;
  for (let i = 0; i < 3; i++) {
    const idx = Array.from({length: B}, (_, k) => i * B + k);
    const b = ws.makeBatch(ds.train, idx, ws.createRng(i));
    const t = Date.now();
    const r = ws.trainStep(st, b.images, b.labels, 0.1);
    console.log(i, r, (Date.now() - t) + 'ms', tf.memory().numTensors);
  }
})();
