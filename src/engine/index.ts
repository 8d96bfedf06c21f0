/**
 * The compute engine: tfjs backend selection (engine.ts), the workspace's wasm kernels (wasm/)
 * and the optional oneDNN convolutions (onednn.ts, native/onednn). The model (src/model) and training (src/train) depend on this module, never the
 * reverse.
 */
export * from './engine';
export { registerWasmKernels } from './wasm';
export { loadOneDnn, oneDnnInfo, setOneDnnThreads } from './onednn';
export * from './collective';
