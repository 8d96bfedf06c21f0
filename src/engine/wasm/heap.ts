/**
 * Minimal typed view of the internals of @tensorflow/tfjs-backend-wasm's BackendWasm that the
 * fast kernels use: the data-id map (tensor -> offset on the wasm heap), the emscripten module
 * (heap buffer) and makeOutput/disposeData. Kernels written here read and write the heap directly
 * with Float32Array views, which is safe because the wasm backend runs synchronously on one thread.
 */
import * as tf from '@tensorflow/tfjs';

export type TensorInfo = tf.TensorInfo;

export interface WasmTensorData {
  id: number;
  memoryOffset: number;
  shape: number[];
  dtype: string;
  refCount: number;
}

export interface WasmModuleLike {
  HEAPU8: Uint8Array;
  asm?: { memory?: WebAssembly.Memory };
}

export interface WasmBackendLike {
  wasm: WasmModuleLike;
  dataIdMap: { get(dataId: object): WasmTensorData | undefined };
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** Signature of a registered kernel function as this module calls it. */
export type KernelFn = (args: {
  inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Record<string, unknown>;
}) => TensorInfo | TensorInfo[];

/** The current heap buffer (it is replaced whenever the wasm memory grows). */
export function heapBuffer(backend: WasmBackendLike): ArrayBuffer {
  const mem = backend.wasm.asm?.memory;
  return (mem ? mem.buffer : backend.wasm.HEAPU8.buffer) as ArrayBuffer;
}

/**
 * A Float32Array view of a float32 tensor's data on the heap. Views go stale when the heap grows:
 * take them after every allocation (makeOutput / kernel calls) of the kernel.
 */
export function f32(backend: WasmBackendLike, t: TensorInfo): Float32Array {
  const d = backend.dataIdMap.get(t.dataId);
  if (d === undefined) throw new Error('wasm kernels: tensor data not found on the wasm backend');
  return new Float32Array(heapBuffer(backend), d.memoryOffset, sizeOf(t.shape));
}

export function sizeOf(shape: readonly number[]): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
}

/** Allocates an uninitialised float32 output tensor on the heap. */
export function alloc(backend: WasmBackendLike, shape: number[]): TensorInfo {
  return backend.makeOutput(shape, 'float32');
}

export function free(backend: WasmBackendLike, t: TensorInfo): void {
  backend.disposeData(t.dataId, true);
}

/** The kernelFunc registered now for (name, 'wasm'); throws if there is none. */
export function wasmKernel(name: string): KernelFn {
  const k = tf.getKernel(name, 'wasm');
  if (k == null) throw new Error(`wasm kernels: no '${name}' kernel registered for the wasm backend`);
  return k.kernelFunc as unknown as KernelFn;
}

export function single(out: TensorInfo | TensorInfo[]): TensorInfo {
  return Array.isArray(out) ? out[0] : out;
}

/** Byte offset of a tensor's data on the wasm heap. */
export function offsetOf(backend: WasmBackendLike, t: TensorInfo): number {
  const d = backend.dataIdMap.get(t.dataId);
  if (d === undefined) throw new Error('wasm kernels: tensor data not found');
  return d.memoryOffset;
}

/** Copies x [N, H, W, C] into a zero tensor [N, H+pt+pb, W+pl+pr, C] at (pt, pl). */
export function padNHWC(backend: WasmBackendLike, x: TensorInfo, pt: number, pb: number, pl: number, pr: number): TensorInfo {
  const [n, h, w, c] = x.shape;
  const hp = h + pt + pb;
  const wp = w + pl + pr;
  const out = alloc(backend, [n, hp, wp, c]);
  const src = f32(backend, x);
  const dst = f32(backend, out);
  dst.fill(0);
  const row = w * c;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < h; i++) {
      const so = (b * h + i) * row;
      dst.set(src.subarray(so, so + row), ((b * hp + i + pt) * wp + pl) * c);
    }
  }
  return out;
}
