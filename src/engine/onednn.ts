/**
 * Optional native convolutions: oneDNN (the library PyTorch uses on CPU, Debian's libdnnl) run
 * on the wasm backend's heap through the small addon in native/onednn, built at `npm install`
 * by scripts/build-native.js when a C++ compiler and libdnnl-dev are present. When the addon is
 * missing, or `WS_ONEDNN=0` is set, the wasm kernels (src/engine/wasm) do all the work.
 *
 * Registered over the wasm kernels for 'wasm': Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter
 * for NHWC inputs, HWIO filters, square strides, no dilation (every convolution of ResNet-20);
 * any other layout goes to the wasm kernels. Tensors stay on the wasm heap: the addon reads and
 * writes them in place (zero copy), reordering only the filter to oneDNN's blocked layout.
 * oneDNN is deterministic for a fixed thread count and ISA, so runs stay reproducible bit for bit;
 * the engine's name ('onednn') is recorded with every run since its rounding differs from wasm's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo, WasmBackendLike, KernelFn } from './wasm/heap';
import { alloc, heapBuffer } from './wasm/heap';
import { conv2D as wasmConv2D, conv2DBackpropFilter as wasmBackpropFilter, conv2DBackpropInput as wasmBackpropInput } from './wasm/conv';

interface Addon {
  run(op: 0 | 1 | 2, heap: ArrayBuffer, params: Float64Array): void;
  setThreads(n: number): void;
  info(): { version: string; isa: string; threads: number };
}

/** WS_ONEDNN=0 (or false, off, no) turns the oneDNN convolutions off. */
export function oneDnnDisabled(): boolean {
  return ['0', 'false', 'off', 'no'].includes((process.env.WS_ONEDNN ?? '').trim().toLowerCase());
}

/** Where the built addon lies, from the project root. */
export const ONEDNN_ADDON = path.join('native', 'onednn', 'build', 'Release', 'onednn.node');

let addon: Addon | null = null;
let loadError: string | null = null;

/** The addon's path: from src/engine, dist/engine or dist-test/src/engine up to the project root. */
function addonPath(): string {
  const tries = [2, 3].map((up) => path.resolve(__dirname, ...Array<string>(up).fill('..'), ONEDNN_ADDON));
  return tries.find((f) => fs.existsSync(f)) ?? tries[0];
}

/**
 * Loads the addon once.
 * @returns null when loaded, else why not (not built, WS_ONEDNN=0, or the load error)
 */
export function loadOneDnn(): string | null {
  if (addon) return null;
  if (loadError) return loadError;
  if (oneDnnDisabled()) return (loadError = `oneDNN convolutions are off (WS_ONEDNN=${process.env.WS_ONEDNN})`);
  const file = addonPath();
  if (!fs.existsSync(file)) {
    return (loadError = `oneDNN addon not built (${ONEDNN_ADDON}; npm install builds it when g++ and libdnnl-dev are installed)`);
  }
  try {
    addon = require(file) as Addon;
  } catch (e) {
    loadError = `oneDNN addon did not load: ${(e as Error).message.split('\n')[0]}`;
  }
  return loadError;
}

/** Version and instruction set of the loaded oneDNN, or null when it is not loaded. */
export function oneDnnInfo(): { version: string; isa: string; threads: number } | null {
  return addon ? addon.info() : null;
}

/**
 * OpenMP threads of this JS thread's oneDNN convolutions (default 1: one run per core, the
 * runner's processes fill the machine).
 * @throws Error when oneDNN is not loaded or n is not an integer in [1, 1024]
 */
export function setOneDnnThreads(n: number): void {
  if (!addon) throw new Error(`oneDNN is not loaded: ${loadError ?? 'call loadOneDnn() first'}`);
  addon.setThreads(n);
}

type Args = { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Record<string, unknown> };
type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
interface Attrs { strides: number | [number, number]; pad: Pad; dataFormat?: string; dilations?: number | [number, number]; dimRoundingMode?: 'floor' | 'round' | 'ceil' }

function offsetOf(backend: WasmBackendLike, t: TensorInfo): number {
  const d = backend.dataIdMap.get(t.dataId);
  if (d === undefined) throw new Error('oneDNN kernels: tensor data not found on the wasm backend');
  return d.memoryOffset;
}

/** The conv geometry when oneDNN covers it (NHWC, square stride, no dilation), else null. */
function geometry(xShape: number[], wShape: number[], attrs: Attrs): tf.backend_util.Conv2DInfo | null {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') return null;
  const dil = attrs.dilations ?? 1;
  if (Array.isArray(dil) ? dil[0] !== 1 || dil[1] !== 1 : dil !== 1) return null;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], wShape as [number, number, number, number],
    attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  if (info.strideHeight !== info.strideWidth || info.padInfo.top < 0 || info.padInfo.left < 0) return null;
  const pb = (info.outHeight - 1) * info.strideHeight + info.filterHeight - info.inHeight - info.padInfo.top;
  const pr = (info.outWidth - 1) * info.strideWidth + info.filterWidth - info.inWidth - info.padInfo.left;
  if (pb < 0 || pr < 0) return null;
  return info;
}

function params(info: tf.backend_util.Conv2DInfo, a: number, b: number, out: number): Float64Array {
  return Float64Array.of(
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outChannels, info.filterHeight,
    info.filterWidth, info.strideHeight, info.padInfo.top, info.padInfo.left, info.outHeight, info.outWidth, a, b, out);
}

/**
 * Conv2D: y [N, Ho, Wo, F] = conv(x [N, H, W, C], filter [KH, KW, C, F]). Inputs of fewer than 8
 * channels (the RGB stem) stay on the wasm kernel: oneDNN 2.6's NHWC kernels took 12 ms there
 * against wasm's 7 ms at batch 128 (its filter gradient, 0.9 ms against 8 ms, stays on oneDNN).
 */
function conv2D(args: Args): TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { x, filter } = args.inputs;
  const info = geometry(x.shape, filter.shape, args.attrs as unknown as Attrs);
  if (info === null || info.inChannels < 8) return wasmConv2D(args);
  const y = alloc(backend, [info.batchSize, info.outHeight, info.outWidth, info.outChannels]);
  addon!.run(0, heapBuffer(backend), params(info, offsetOf(backend, x), offsetOf(backend, filter), offsetOf(backend, y)));
  return y;
}

/** Conv2DBackpropInput: dx [N, H, W, C] from dy [N, Ho, Wo, F] and filter [KH, KW, C, F]. */
function conv2DBackpropInput(args: Args): TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { dy, filter } = args.inputs;
  const attrs = args.attrs as unknown as Attrs & { inputShape: number[] };
  const info = geometry(attrs.inputShape, filter.shape, attrs);
  if (info === null) return wasmBackpropInput(args);
  const dx = alloc(backend, [info.batchSize, info.inHeight, info.inWidth, info.inChannels]);
  addon!.run(1, heapBuffer(backend), params(info, offsetOf(backend, dy), offsetOf(backend, filter), offsetOf(backend, dx)));
  return dx;
}

/** Conv2DBackpropFilter: dW [KH, KW, C, F] from x [N, H, W, C] and dy [N, Ho, Wo, F]. */
function conv2DBackpropFilter(args: Args): TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { x, dy } = args.inputs;
  const attrs = args.attrs as unknown as Attrs & { filterShape: number[] };
  const info = geometry(x.shape, attrs.filterShape, attrs);
  if (info === null) return wasmBackpropFilter(args);
  const dw = alloc(backend, [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels]);
  addon!.run(2, heapBuffer(backend), params(info, offsetOf(backend, x), offsetOf(backend, dy), offsetOf(backend, dw)));
  return dw;
}

const KERNELS: [string, KernelFn][] = [
  ['Conv2D', conv2D], ['Conv2DBackpropInput', conv2DBackpropInput], ['Conv2DBackpropFilter', conv2DBackpropFilter],
];

/**
 * Registers the oneDNN convolutions for 'wasm' over the wasm kernels (call after
 * registerWasmKernels; idempotent).
 * @returns the kernel names registered, each suffixed ':onednn'
 * @throws Error when the addon is not loaded (see loadOneDnn)
 */
export function registerOneDnnKernels(): string[] {
  const why = loadOneDnn();
  if (why !== null) throw new Error(why);
  for (const [name, fn] of KERNELS) {
    const current = tf.getKernel(name, 'wasm');
    if (current?.kernelFunc === (fn as unknown)) continue;
    if (current != null) tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: fn as unknown as tf.KernelFunc, setupFunc: current?.setupFunc });
  }
  return KERNELS.map(([name]) => `${name}:onednn`);
}
