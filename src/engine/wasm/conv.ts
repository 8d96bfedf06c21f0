/**
 * Convolution gradients for the wasm backend, computed with the backend's own fast forward
 * convolution (XNNPACK) instead of the stock naive Conv2DBackpropInput loop (and the missing
 * Conv2DBackpropFilter):
 *
 *  - input gradient: dx = conv(D, W'), where W'[a,b,f,c] = W[kh-1-a, kw-1-b, c, f] (spatially
 *    flipped, in/out transposed) and D is dy itself for stride 1 or dy dilated with stride-1 zeros
 *    between its pixels for stride s; padding (kh-1-padTop) before and whatever makes the output
 *    H x W after.
 *  - filter gradient: dW[kh,kw,c,f] = sum_{n,i,j} x[n, s*i+kh-pt, s*j+kw-pl, c] dy[n,i,j,f], which is
 *    a forward convolution of x^T ([C, H, W, N]: batch C, channels N) with dy^T ([Ho, Wo, N, F] as
 *    filter, dilation s), output [C, kh, kw, F], transposed to [kh, kw, C, F].
 *
 * Everything runs on the wasm heap; intermediates are freed before returning.
 */
import * as tf from '@tensorflow/tfjs';
import {
  KernelFn, TensorInfo, WasmBackendLike, alloc, f32, free, single, wasmKernel,
} from './heap';
import { Runtime, runtimeFor } from './runtime';
import { winogradApplies, winogradConv, winogradTile } from './winograd';
import { winogradFilterGrad } from './winograd-dw';
import { heapBuffer, offsetOf as off, padNHWC } from './heap';

/** Byte offset in the runtime scratch area of the i32 tap-offset table of convRow. */
const TAP_TABLE = 48 * 1024;

/** Writes the taps' byte offsets (row*wp + col)*c*4 into the scratch table; returns its address. */
function tapTable(backend: WasmBackendLike, rt: Runtime, taps: [number, number][], wp: number, c: number): number {
  const tab = new Int32Array(heapBuffer(backend), rt.scratch + TAP_TABLE, taps.length);
  taps.forEach(([r, q], i) => { tab[i] = (r * wp + q) * c * 4; });
  return rt.scratch + TAP_TABLE;
}


type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function convInfo(inShape: number[], filterShape: number[], attrs: ConvAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number], filterShape as [number, number, number, number],
    attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
}

function isNHWC(attrs: ConvAttrs): boolean {
  return attrs.dataFormat === undefined || attrs.dataFormat === 'NHWC';
}

/** Calls the wasm backend's forward Conv2D (XNNPACK) on heap tensors. */
function forwardConv(
  backend: WasmBackendLike, x: TensorInfo, filter: TensorInfo,
  pads: [number, number, number, number], dilations: [number, number],
): TensorInfo {
  const conv = stockConv2D ?? wasmKernel('Conv2D');
  const [t, b, l, r] = pads;
  return single(conv({
    inputs: { x, filter },
    backend,
    attrs: {
      strides: [1, 1], pad: [[0, 0], [t, b], [l, r], [0, 0]], dataFormat: 'NHWC',
      dilations, dimRoundingMode: undefined,
    },
  }));
}

/** W [kh, kw, C, F] -> W' [kh, kw, F, C] flipped spatially. */
function flipTransposeFilter(backend: WasmBackendLike, w: TensorInfo): TensorInfo {
  const [kh, kw, c, f] = w.shape;
  const out = alloc(backend, [kh, kw, f, c]);
  const src = f32(backend, w);
  const dst = f32(backend, out);
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      const so = ((kh - 1 - a) * kw + (kw - 1 - b)) * c * f;
      const dO = (a * kw + b) * f * c;
      for (let ci = 0; ci < c; ci++) {
        for (let fi = 0; fi < f; fi++) dst[dO + fi * c + ci] = src[so + ci * f + fi];
      }
    }
  }
  return out;
}

/** dy [N, Ho, Wo, F] -> D [N, sh*(Ho-1)+1, sw*(Wo-1)+1, F] with zeros between the pixels. */
function dilate(backend: WasmBackendLike, dy: TensorInfo, sh: number, sw: number): TensorInfo {
  const [n, ho, wo, f] = dy.shape;
  const hd = sh * (ho - 1) + 1;
  const wd = sw * (wo - 1) + 1;
  const out = alloc(backend, [n, hd, wd, f]);
  const src = f32(backend, dy);
  const dst = f32(backend, out);
  dst.fill(0);
  if (f % 16 === 0) {
    const rt = runtimeFor(backend);
    const so = off(backend, dy);
    const dO = off(backend, out);
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < ho; i++) {
        rt.simd.rowCopy(so + ((b * ho + i) * wo) * f * 4, dO + ((b * hd + i * sh) * wd) * f * 4, wo, f * 4, sw * f * 4, f / 16);
      }
    }
    return out;
  }
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < ho; i++) {
      const srow = ((b * ho + i) * wo) * f;
      const drow = ((b * hd + i * sh) * wd) * f;
      for (let j = 0; j < wo; j++) {
        const s = srow + j * f;
        const d = drow + j * sw * f;
        for (let k = 0; k < f; k++) dst[d + k] = src[s + k];
      }
    }
  }
  return out;
}

let stockBackpropInput: KernelFn | null = null;
let stockConv2D: KernelFn | null = null;

/**
 * Convolution route: 'winograd' (default: the stride-1 pad-1 3x3 convolutions, forward and both
 * gradients, by Winograd F(m x m, 3 x 3), winograd.ts / winograd-dw.ts; the direct SIMD kernels for
 * the others), 'simd' (the direct SIMD kernels for every shape) or 'xnnpack' (forward and input
 * gradient by the backend's XNNPACK). WS_CONV_ROUTE=simd|winograd|xnnpack sets the initial route.
 */
export type ConvRoute = 'simd' | 'winograd' | 'xnnpack';
const ROUTES: readonly ConvRoute[] = ['simd', 'winograd', 'xnnpack'];
function initialRoute(): ConvRoute {
  const r = process.env.WS_CONV_ROUTE;
  if (r === undefined || r === '') return DEFAULT_ROUTE;
  if (!(ROUTES as readonly string[]).includes(r)) throw new Error(`WS_CONV_ROUTE: '${r}' is not one of ${ROUTES.join(', ')}`);
  return r as ConvRoute;
}
/** The default route, measured faster on every stride-1 3x3 shape of ResNet-20 (src/bench/winograd.ts). */
const DEFAULT_ROUTE: ConvRoute = 'winograd';
/** Parsed at registration (registerConvKernels), so that a bad WS_CONV_ROUTE fails engine selection. */
let convRoute: ConvRoute | null = null;
export function setConvRoute(route: ConvRoute): void { convRoute = route; }
export function getConvRoute(): ConvRoute { return (convRoute ??= initialRoute()); }

function simdConvOk(c: number, f: number): boolean {
  return f % 4 === 0 && (c % 4 === 0 || c <= 8);
}

/** Forward convolution with the generated SIMD row kernel (NHWC, no dilation, square strides). */
function conv2dSimd(backend: WasmBackendLike, x: TensorInfo, filter: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo {
  const { filterHeight: kh, filterWidth: kw, strideHeight: s, inChannels: c, outChannels: f, outHeight: ho, outWidth: wo } = info;
  const [n, h, w] = x.shape;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const hp = Math.max(pt + h, s * (ho - 1) + kh);
  const wp = Math.max(pl + w, s * (wo - 1) + kw);
  const padded = pt === 0 && pl === 0 && hp === h && wp === w ? x : padNHWC(backend, x, pt, hp - h - pt, pl, wp - w - pl);
  const taps: [number, number][] = [];
  for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) taps.push([a, b]);
  const spec = { c, f, sIn: s, sOut: 1 };
  const out = alloc(backend, [n, ho, wo, f]);
  const rt = runtimeFor(backend);
  const tab = tapTable(backend, rt, taps, wp, c);
  const po = off(backend, padded);
  const wo_ = off(backend, filter);
  const oo = off(backend, out);
  const row = rt.simd.convRow(spec);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < ho; i++) {
      row(po + ((b * hp + s * i) * wp) * c * 4, wo_, oo + ((b * ho + i) * wo) * f * 4, wo, tab, taps.length);
    }
  }
  if (padded !== x) free(backend, padded);
  return out;
}

/** Phases of a strided transposed convolution along one axis. */
function phases(k: number, s: number, p: number, len: number): { r: number; count: number; taps: { k: number; d: number }[] }[] {
  const out = [];
  for (let r = 0; r < s; r++) {
    const taps = [];
    for (let a = 0; a < k; a++) {
      const t = r + p - a;
      if (((t % s) + s) % s === 0) taps.push({ k: a, d: t / s });
    }
    out.push({ r, count: Math.max(0, Math.ceil((len - r) / s)), taps });
  }
  return out;
}

/**
 * Input gradient with the generated SIMD row kernel, decomposed by output phase (stride s gives
 * s*s stride-1 convolutions of dy with the matching filter taps, written every s-th pixel): no
 * zero-dilated dy, no wasted multiplications.
 */
function backpropInputSimd(backend: WasmBackendLike, dy: TensorInfo, filter: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo {
  const { filterHeight: kh, filterWidth: kw, strideHeight: s, inChannels: c, outChannels: f, outHeight: ho, outWidth: wo, inHeight: h, inWidth: w } = info;
  const n = info.batchSize;
  const rows = phases(kh, s, info.padInfo.top, h);
  const cols = phases(kw, s, info.padInfo.left, w);
  let padT = 0, padB = 0, padL = 0, padR = 0;
  for (const ph of rows) for (const t of ph.taps) { padT = Math.max(padT, -t.d); if (ph.count > 0) padB = Math.max(padB, ph.count - 1 + t.d - (ho - 1)); }
  for (const ph of cols) for (const t of ph.taps) { padL = Math.max(padL, -t.d); if (ph.count > 0) padR = Math.max(padR, ph.count - 1 + t.d - (wo - 1)); }
  const hp = ho + padT + padB;
  const wp = wo + padL + padR;
  const dx = alloc(backend, [n, h, w, c]);
  if (rows.some((p) => p.taps.length === 0 && p.count > 0) || cols.some((p) => p.taps.length === 0 && p.count > 0)) f32(backend, dx).fill(0);
  const padded = padT === 0 && padL === 0 && padB === 0 && padR === 0 ? dy : padNHWC(backend, dy, padT, padB, padL, padR);
  const rt = runtimeFor(backend);
  for (const pr of rows) {
    for (const pc of cols) {
      if (pr.count === 0 || pc.count === 0 || pr.taps.length === 0 || pc.taps.length === 0) continue;
      const taps: [number, number][] = [];
      const wt = alloc(backend, [pr.taps.length * pc.taps.length, f, c]);
      const src = f32(backend, filter);
      const dst = f32(backend, wt);
      let t = 0;
      for (const ta of pr.taps) {
        for (const tb of pc.taps) {
          taps.push([ta.d + padT, tb.d + padL]);
          const so = (ta.k * kw + tb.k) * c * f;
          const dO = t * f * c;
          for (let ci = 0; ci < c; ci++) for (let fi = 0; fi < f; fi++) dst[dO + fi * c + ci] = src[so + ci * f + fi];
          t++;
        }
      }
      const spec = { c: f, f: c, sIn: 1, sOut: s };
      const tab = tapTable(backend, rt, taps, wp, f);
      const po = off(backend, padded);
      const wo_ = off(backend, wt);
      const xo = off(backend, dx);
      const row = rt.simd.convRow(spec);
      for (let b = 0; b < n; b++) {
        for (let u = 0; u < pr.count; u++) {
          row(po + ((b * hp + u) * wp) * f * 4, wo_, xo + ((b * h + s * u + pr.r) * w + pc.r) * c * 4, pc.count, tab, taps.length);
        }
      }
      free(backend, wt);
    }
  }
  if (padded !== dy) free(backend, padded);
  return dx;
}

/** Conv2D: generated SIMD rows where they apply, else the stock (XNNPACK) kernel. */
export function conv2D(args: {
  inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Record<string, unknown>;
}): TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { x, filter } = args.inputs;
  const attrs = args.attrs as unknown as ConvAttrs & { dilations?: number | [number, number] };
  const dil = attrs.dilations ?? 1;
  const dilOne = Array.isArray(dil) ? dil[0] === 1 && dil[1] === 1 : dil === 1;
  const route = getConvRoute();
  if (route !== 'xnnpack' && isNHWC(attrs) && dilOne) {
    const info = convInfo(x.shape, filter.shape, attrs);
    if (route === 'winograd' && winogradApplies(info)) return winogradConv(backend, x, filter, false);
    if (info.strideHeight === info.strideWidth && simdConvOk(info.inChannels, info.outChannels)) {
      return conv2dSimd(backend, x, filter, info);
    }
  }
  if (stockConv2D === null) throw new Error('Conv2D: no fallback kernel');
  return single(stockConv2D(args));
}

/** Filter-gradient route: generated SIMD accumulation (default) or XNNPACK conv of transposes. */
let filterRoute: 'simd' | 'xnnpack' = 'simd';
export function setFilterGradRoute(route: 'simd' | 'xnnpack'): void { filterRoute = route; }

/** Conv2DBackpropInput through the forward conv. Falls back to the stock kernel for layouts it does not cover. */
export function conv2DBackpropInput(args: {
  inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Record<string, unknown>;
}): TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { dy, filter } = args.inputs;
  const attrs = args.attrs as unknown as ConvAttrs & { inputShape: number[] };
  const fallback = () => {
    if (stockBackpropInput === null) throw new Error('Conv2DBackpropInput: no fallback kernel');
    return single(stockBackpropInput(args));
  };
  if (!isNHWC(attrs)) return fallback();
  const info = convInfo(attrs.inputShape, filter.shape, attrs);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const hd = sh * (info.outHeight - 1) + 1;
  const wd = sw * (info.outWidth - 1) + 1;
  const pt = kh - 1 - info.padInfo.top;
  const pl = kw - 1 - info.padInfo.left;
  const pb = info.inHeight - hd - pt + kh - 1;
  const pr = info.inWidth - wd - pl + kw - 1;
  if (pt < 0 || pl < 0 || pb < 0 || pr < 0) return fallback();
  const route = getConvRoute();
  if (route === 'winograd' && winogradApplies(info)) return winogradConv(backend, dy, filter, true);
  if (route !== 'xnnpack' && sh === sw && simdConvOk(info.outChannels, info.inChannels)) {
    return backpropInputSimd(backend, dy, filter, info);
  }

  const wf = flipTransposeFilter(backend, filter);
  const d = sh === 1 && sw === 1 ? dy : dilate(backend, dy, sh, sw);
  const out = forwardConv(backend, d, wf, [pt, pb, pl, pr], [1, 1]);
  free(backend, wf);
  if (d !== dy) free(backend, d);
  return out;
}

/**
 * x [N, H, W, C] -> xT [C, hc, wc, N] keeping only the first hc rows and wc columns (the rows the
 * filter gradient can reach).
 */
function transposeToCHWN(backend: WasmBackendLike, x: TensorInfo, hc: number, wc: number): TensorInfo {
  const [n, h, w, c] = x.shape;
  const out = alloc(backend, [c, hc, wc, n]);
  if (hc === h && wc === w && n % 4 === 0 && c % 4 === 0) {
    runtimeFor(backend).simd.toCHWN(off(backend, x), off(backend, out), n, h * w, c);
    return out;
  }
  const src = f32(backend, x);
  const dst = f32(backend, out);
  const plane = hc * wc * n;
  for (let i = 0; i < hc; i++) {
    for (let j = 0; j < wc; j++) {
      const dp = (i * wc + j) * n;
      for (let b = 0; b < n; b++) {
        const s = ((b * h + i) * w + j) * c;
        const dd = dp + b;
        for (let k = 0; k < c; k++) dst[dd + k * plane] = src[s + k];
      }
    }
  }
  return out;
}

/** dy [N, Ho, Wo, F] -> [Ho, Wo, N, F]. */
function transposeToHWNF(backend: WasmBackendLike, dy: TensorInfo): TensorInfo {
  const [n, ho, wo, f] = dy.shape;
  const out = alloc(backend, [ho, wo, n, f]);
  if (f % 16 === 0) {
    const rt = runtimeFor(backend);
    const so = off(backend, dy);
    const dO = off(backend, out);
    for (let b = 0; b < n; b++) rt.simd.rowCopy(so + b * ho * wo * f * 4, dO + b * f * 4, ho * wo, f * 4, n * f * 4, f / 16);
    return out;
  }
  const src = f32(backend, dy);
  const dst = f32(backend, out);
  const pix = ho * wo;
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < pix; p++) {
      const s = (b * pix + p) * f;
      const d = (p * n + b) * f;
      for (let k = 0; k < f; k++) dst[d + k] = src[s + k];
    }
  }
  return out;
}

/** Plain loops: the reference for layouts the fast path does not cover. */
function backpropFilterLoops(backend: WasmBackendLike, x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inChannels: c, outChannels: f } = info;
  const [n, h, w] = x.shape;
  const ho = info.outHeight;
  const wo = info.outWidth;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const out = alloc(backend, [kh, kw, c, f]);
  const xs = f32(backend, x);
  const ds = f32(backend, dy);
  const acc = new Float64Array(kh * kw * c * f);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        const dOff = ((b * ho + i) * wo + j) * f;
        for (let a = 0; a < kh; a++) {
          const r = i * sh + a - pt;
          if (r < 0 || r >= h) continue;
          for (let e = 0; e < kw; e++) {
            const col = j * sw + e - pl;
            if (col < 0 || col >= w) continue;
            const xOff = ((b * h + r) * w + col) * c;
            const wOff = (a * kw + e) * c * f;
            for (let ci = 0; ci < c; ci++) {
              const xv = xs[xOff + ci];
              if (xv === 0) continue;
              const o = wOff + ci * f;
              for (let fi = 0; fi < f; fi++) acc[o + fi] += xv * ds[dOff + fi];
            }
          }
        }
      }
    }
  }
  f32(backend, out).set(acc);
  return out;
}

/** Images accumulated in float32 before the partial filter gradient is added to the float64 total. */
const DW_GROUP = 16;

/**
 * Filter gradient with the generated SIMD kernel: for each image and tap, one call accumulating
 * x(shifted) ^T dy over the valid output rectangle. No transposes, no zero padding.
 */
function backpropFilterSimd(backend: WasmBackendLike, x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inChannels: c, outChannels: f } = info;
  const [n, h, w] = x.shape;
  const ho = info.outHeight;
  const wo = info.outWidth;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const size = kh * kw * c * f;
  const out = alloc(backend, [kh, kw, c, f]);
  const acc = alloc(backend, [size]);
  f32(backend, acc).fill(0);
  const total = new Float64Array(size);
  const rt = runtimeFor(backend);
  const xo = off(backend, x);
  const dyo = off(backend, dy);
  const ao = off(backend, acc);
  const lo = (p: number, k: number, s: number) => Math.max(0, Math.ceil((p - k) / s));
  const hi = (p: number, k: number, s: number, len: number, outLen: number) => Math.min(outLen, Math.floor((len - 1 + p - k) / s) + 1);
  // images per kernel call: as many as keep x and dy of the call in ~256 KB (L2), a power of two <= DW_GROUP
  const perImage = (h * w * c + ho * wo * f) * 4;
  let chunk = 1;
  while (chunk * 2 <= DW_GROUP && chunk * 2 * perImage <= 256 * 1024) chunk *= 2;
  for (let b = 0; b < n; b += chunk) {
    const imgs = Math.min(chunk, n - b);
    for (let a = 0; a < kh; a++) {
      const i0 = lo(pt, a, sh);
      const i1 = hi(pt, a, sh, h, ho);
      if (i1 <= i0) continue;
      for (let e = 0; e < kw; e++) {
        const j0 = lo(pl, e, sw);
        const j1 = hi(pl, e, sw, w, wo);
        if (j1 <= j0) continue;
        const xp = xo + ((b * h + sh * i0 + a - pt) * w + sw * j0 + e - pl) * c * 4;
        const dp = dyo + ((b * ho + i0) * wo + j0) * f * 4;
        rt.simd.dwTap(c, f, xp, dp, ao + (a * kw + e) * c * f * 4, i1 - i0, j1 - j0, sw * c * 4, sh * w * c * 4, wo * f * 4,
          imgs, h * w * c * 4, ho * wo * f * 4);
      }
    }
    if ((b + imgs) % DW_GROUP === 0 || b + imgs >= n) {
      const av = f32(backend, acc);
      for (let k = 0; k < size; k++) total[k] += av[k];
      av.fill(0);
    }
  }
  f32(backend, out).set(total);
  free(backend, acc);
  return out;
}

/** Conv2DBackpropFilter through the forward conv (the stock wasm backend has no such kernel). */
export function conv2DBackpropFilter(args: {
  inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Record<string, unknown>;
}): TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { x, dy } = args.inputs;
  const attrs = args.attrs as unknown as ConvAttrs & { filterShape: number[] };
  if (!isNHWC(attrs)) throw new Error('wasm Conv2DBackpropFilter: only NHWC is supported');
  const info = convInfo(x.shape, attrs.filterShape, attrs);
  if (getConvRoute() === 'winograd' && filterRoute !== 'xnnpack' && winogradApplies(info)) return winogradFilterGrad(backend, x, dy);
  if (info.outChannels % 4 === 0 && info.dilationHeight === 1 && info.dilationWidth === 1 && filterRoute !== 'xnnpack') {
    return backpropFilterSimd(backend, x, dy, info);
  }
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const ho = info.outHeight;
  const wo = info.outWidth;
  if (pt < 0 || pl < 0 || pt > kh - 1 || pl > kw - 1) return backpropFilterLoops(backend, x, dy, info);
  // Last input row / column the filter gradient reads; rows beyond it are cropped, missing ones padded.
  const lastRow = sh * (ho - 1) + kh - 1 - pt;
  const lastCol = sw * (wo - 1) + kw - 1 - pl;
  const hc = Math.min(info.inHeight, lastRow + 1);
  const wc = Math.min(info.inWidth, lastCol + 1);
  const pb = lastRow + 1 - hc;
  const pr = lastCol + 1 - wc;

  const xT = transposeToCHWN(backend, x, hc, wc);
  const dyT = transposeToHWNF(backend, dy);
  const g = forwardConv(backend, xT, dyT, [pt, pb, pl, pr], [sh, sw]); // [C, kh, kw, F]
  free(backend, xT);
  free(backend, dyT);
  const c = info.inChannels;
  const f = info.outChannels;
  const out = alloc(backend, [kh, kw, c, f]);
  const src = f32(backend, g);
  const dst = f32(backend, out);
  const taps = kh * kw;
  for (let ci = 0; ci < c; ci++) {
    for (let t = 0; t < taps; t++) {
      const s = (ci * taps + t) * f;
      const d = (t * c + ci) * f;
      for (let k = 0; k < f; k++) dst[d + k] = src[s + k];
    }
  }
  free(backend, g);
  return out;
}

/** Registers the kernels on 'wasm' (idempotent); returns their names. */
export function registerConvKernels(): string[] {
  getConvRoute(); // WS_CONV_ROUTE and WS_WINOGRAD_M are checked here: a bad value fails engine selection
  winogradTile();
  const names: string[] = [];
  const fwd = tf.getKernel('Conv2D', 'wasm');
  if (fwd != null && fwd.kernelFunc !== (conv2D as unknown)) {
    stockConv2D = fwd.kernelFunc as unknown as KernelFn;
    tf.unregisterKernel('Conv2D', 'wasm');
  }
  if (tf.getKernel('Conv2D', 'wasm') == null) {
    tf.registerKernel({
      kernelName: 'Conv2D', backendName: 'wasm', kernelFunc: conv2D as unknown as tf.KernelFunc, setupFunc: fwd?.setupFunc,
    });
  }
  names.push('Conv2D');
  const stock = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (stock != null && stock.kernelFunc !== (conv2DBackpropInput as unknown)) {
    stockBackpropInput = stock.kernelFunc as unknown as KernelFn;
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  }
  if (tf.getKernel('Conv2DBackpropInput', 'wasm') == null) {
    tf.registerKernel({
      kernelName: 'Conv2DBackpropInput', backendName: 'wasm',
      kernelFunc: conv2DBackpropInput as unknown as tf.KernelFunc, setupFunc: stock?.setupFunc,
    });
  }
  names.push('Conv2DBackpropInput');
  const bf = tf.getKernel('Conv2DBackpropFilter', 'wasm');
  if (bf != null && bf.kernelFunc !== (conv2DBackpropFilter as unknown)) tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm') == null) {
    tf.registerKernel({
      kernelName: 'Conv2DBackpropFilter', backendName: 'wasm',
      kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc,
    });
  }
  names.push('Conv2DBackpropFilter');
  return names;
}
