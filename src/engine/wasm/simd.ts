/**
 * Generated wasm SIMD kernels (see asm.ts) for the per-channel and data-movement work of a
 * training step: batch-norm statistics / affine / backward, ReLU gradient, the transposes of
 * the filter-gradient route and the zero dilation of the stride-2 input gradient.
 *
 * All pointers are byte offsets into the wasm backend's heap; every kernel is specialised for its
 * channel count C (a multiple of 4) and compiled once per C.
 */
import { FnBuilder, I32, V128, hasRelaxedSimd, instantiate } from './asm';

/**
 * Multiply-accumulate flavour of the generated convolution kernels: f32x4.mul + f32x4.add by
 * default; relaxed-SIMD fused multiply-add (f32x4.relaxed_madd) with TFJS_WASM_FMA=1 where the
 * engine validates it (Node >= 22, or Node 20 with --experimental-wasm-relaxed-simd). Measured on
 * Zen 5 / Node 20: FMA 28 GFLOP/s vs 34 for mul + add (separate multiply and add pipes), hence off.
 */
let useFma: boolean | null = null;
export function fmaEnabled(): boolean {
  if (useFma === null) useFma = process.env.TFJS_WASM_FMA === '1' && hasRelaxedSimd();
  return useFma;
}
export function setFma(on: boolean): void { useFma = on && hasRelaxedSimd(); }

/** acc += a * b with a, b, acc locals. */
function madd(f: FnBuilder, a: number, b: number, acc: number): void {
  if (fmaEnabled()) f.get(a).get(b).get(acc).f32x4RelaxedMadd().set(acc);
  else f.get(a).get(b).f32x4Mul().get(acc).f32x4Add().set(acc);
}

type Exports = Record<string, (...args: number[]) => number | void>;

/** Pixels per f32 partial sum before it is added into the f64 totals. */
const BLOCK = 64;

/** Lanes (32-bit) of a two-operand shuffle -> the 16 byte indices of i8x16.shuffle. */
function lanes(l: number[]): number[] {
  const out: number[] = [];
  for (const k of l) for (let b = 0; b < 4; b++) out.push(4 * k + b);
  return out;
}
const HI_TO_LO = lanes([2, 3, 2, 3]);

/**
 * Adds the f32x4 accumulator on the stack top... (helper) accumulates acc (a v128 local) into the
 * f64 totals at ptr + byteOff (4 doubles).
 */
function addToF64(f: FnBuilder, ptr: number, byteOff: number, acc: number): void {
  f.get(ptr).get(ptr).v128Load(byteOff).get(acc).f64x2PromoteLowF32x4().f64x2Add().v128Store(byteOff);
  f.get(ptr).get(ptr).v128Load(byteOff + 16)
    .get(acc).get(acc).i8x16Shuffle(HI_TO_LO).f64x2PromoteLowF32x4().f64x2Add().v128Store(byteOff + 16);
}

/**
 * sums(a, b, M, out, shifts): with u = a - shiftA[c], w = b - shiftB[c]:
 * out (f64) [0, C) += sum_p u[p, c]; [C, 2C) += sum_p u[p,c] * w[p,c]. Rows of C floats, M rows;
 * shifts = [shiftA (C floats), shiftB (C floats)]. masked (an extra argument, mask: rows like a):
 * a taken as mask > 0 ? a : 0 (a ReLU's gradient folded in).
 */
function genSums(c: number, name: string, masked = false): FnBuilder {
  const V = c / 4;
  const f = new FnBuilder(name, masked ? [I32, I32, I32, I32, I32, I32] : [I32, I32, I32, I32, I32]);
  const [a, b, m, out, shifts, mask] = [0, 1, 2, 3, 4, 5];
  const p = f.local(I32);
  const blockEnd = f.local(I32);
  const pa = f.local(I32);
  const pb = f.local(I32);
  const pm = f.local(I32);
  const zero = f.local(V128);
  f.v128Zero().set(zero);
  const s: number[] = [];
  const q: number[] = [];
  for (let v = 0; v < V; v++) { s.push(f.local(V128)); q.push(f.local(V128)); }
  const x = f.local(V128);
  const sa: number[] = [];
  const sb: number[] = [];
  for (let v = 0; v < V; v++) {
    sa.push(f.local(V128)); sb.push(f.local(V128));
    f.get(shifts).v128Load(16 * v).set(sa[v]);
    f.get(shifts).v128Load(4 * c + 16 * v).set(sb[v]);
  }
  const rowBytes = c * 4;
  f.i32(0).set(p);
  f.block().loop();
  // while (p < m)
  f.get(p).get(m).i32GeS().brIf(1);
  for (let v = 0; v < V; v++) { f.v128Zero().set(s[v]); f.v128Zero().set(q[v]); }
  // blockEnd = min(p + BLOCK, m)
  f.get(p).i32(BLOCK).i32Add().tee(blockEnd).get(m).i32GtS().if_().get(m).set(blockEnd).end();
  f.get(a).get(p).i32(rowBytes).i32Mul().i32Add().set(pa);
  f.get(b).get(p).i32(rowBytes).i32Mul().i32Add().set(pb);
  if (masked) f.get(mask).get(p).i32(rowBytes).i32Mul().i32Add().set(pm);
  f.loop();
  for (let v = 0; v < V; v++) {
    f.get(pa).v128Load(16 * v);
    // masked: a = mask > 0 ? a : 0, the ReLU gradient's select (bitwise and with the comparison)
    if (masked) f.get(pm).v128Load(16 * v).get(zero).f32x4Gt().v128And();
    f.get(sa[v]).f32x4Sub().tee(x).get(s[v]).f32x4Add().set(s[v]);
    f.get(x).get(pb).v128Load(16 * v).get(sb[v]).f32x4Sub().f32x4Mul().get(q[v]).f32x4Add().set(q[v]);
  }
  f.get(pa).i32(rowBytes).i32Add().set(pa);
  f.get(pb).i32(rowBytes).i32Add().set(pb);
  if (masked) f.get(pm).i32(rowBytes).i32Add().set(pm);
  f.get(p).i32(1).i32Add().tee(p).get(blockEnd).i32LtS().brIf(0);
  f.end();
  for (let v = 0; v < V; v++) {
    addToF64(f, out, 32 * v, s[v]);
    addToF64(f, out, 8 * c + 32 * v, q[v]);
  }
  f.br(0);
  f.end().end();
  return f;
}

/**
 * affine(x, y, M, params): y[p,c] = x[p,c] * params[c] + params[C + c]; with relu, max(., 0).
 */
function genAffine(c: number, relu: boolean, name: string): FnBuilder {
  const V = c / 4;
  const f = new FnBuilder(name, [I32, I32, I32, I32]);
  const [x, y, m, prm] = [0, 1, 2, 3];
  const p = f.local(I32);
  const px = f.local(I32);
  const py = f.local(I32);
  const sc: number[] = [];
  const sh: number[] = [];
  const zero = f.local(V128);
  for (let v = 0; v < V; v++) {
    sc.push(f.local(V128)); sh.push(f.local(V128));
    f.get(prm).v128Load(16 * v).set(sc[v]);
    f.get(prm).v128Load(4 * c + 16 * v).set(sh[v]);
  }
  f.v128Zero().set(zero);
  f.get(x).set(px).get(y).set(py);
  f.forRange(p, { c: 0 }, m, 1, () => {
    for (let v = 0; v < V; v++) {
      f.get(py).get(px).v128Load(16 * v).get(sc[v]).f32x4Mul().get(sh[v]).f32x4Add();
      if (relu) f.get(zero).f32x4PMax();
      f.v128Store(16 * v);
    }
    f.get(px).i32(c * 4).i32Add().set(px);
    f.get(py).i32(c * 4).i32Add().set(py);
  });
  return f;
}

/**
 * bnInfer(x, y, M, params): batch norm with running statistics, as tfjs-backend-wasm's FusedBatchNorm
 * computes it (4.22, read from its compiled code): t = (x - mean[c]) * scale[c] in float32, then
 * t / norm[c] + offset[c] in float64, rounded once to float32 (with relu, max(., 0));
 * params = [mean f32 | scale f32 | norm f64 | offset f64] (C each, norm = float32 sqrt(variance + eps)).
 */
function genBnInfer(c: number, relu: boolean, name: string): FnBuilder {
  const V = c / 4;
  const f = new FnBuilder(name, [I32, I32, I32, I32]);
  const [x, y, m, prm] = [0, 1, 2, 3];
  const p = f.local(I32);
  const px = f.local(I32);
  const py = f.local(I32);
  const t = f.local(V128);
  const lo = f.local(V128);
  const zero = f.local(V128);
  const mean: number[] = [];
  const scale: number[] = [];
  const norm: number[] = []; // two f64x2 per vector of 4 channels: lanes 0-1, 2-3
  const offset: number[] = [];
  for (let v = 0; v < V; v++) {
    mean.push(f.local(V128)); scale.push(f.local(V128));
    f.get(prm).v128Load(16 * v).set(mean[v]);
    f.get(prm).v128Load(4 * c + 16 * v).set(scale[v]);
    for (let h = 0; h < 2; h++) {
      norm.push(f.local(V128)); offset.push(f.local(V128));
      f.get(prm).v128Load(8 * c + 32 * v + 16 * h).set(norm[2 * v + h]);
      f.get(prm).v128Load(16 * c + 32 * v + 16 * h).set(offset[2 * v + h]);
    }
  }
  f.v128Zero().set(zero);
  f.get(x).set(px).get(y).set(py);
  const HIGH_TO_LOW = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
  const LOW_HALVES = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
  f.forRange(p, { c: 0 }, m, 1, () => {
    for (let v = 0; v < V; v++) {
      f.get(px).v128Load(16 * v).get(mean[v]).f32x4Sub().get(scale[v]).f32x4Mul().set(t);
      f.get(t).f64x2PromoteLowF32x4().get(norm[2 * v]).f64x2Div().get(offset[2 * v]).f64x2Add().f32x4DemoteF64x2Zero().set(lo);
      f.get(py).get(lo);
      f.get(t).get(t).i8x16Shuffle(HIGH_TO_LOW).f64x2PromoteLowF32x4().get(norm[2 * v + 1]).f64x2Div().get(offset[2 * v + 1]).f64x2Add().f32x4DemoteF64x2Zero();
      f.i8x16Shuffle(LOW_HALVES);
      if (relu) f.get(zero).f32x4PMax();
      f.v128Store(16 * v);
    }
    f.get(px).i32(c * 4).i32Add().set(px);
    f.get(py).i32(c * 4).i32Add().set(py);
  });
  return f;
}

/**
 * bnBackward(dy, x, dx, M, params): dx = dy * params[c] + x * params[C+c] + params[2C+c]; masked
 * (an extra argument, mask): dy taken as mask > 0 ? dy : 0 (a ReLU's gradient folded in).
 */
function genBnBackward(c: number, name: string, masked = false): FnBuilder {
  const V = c / 4;
  const f = new FnBuilder(name, masked ? [I32, I32, I32, I32, I32, I32] : [I32, I32, I32, I32, I32]);
  const [dy, x, dx, m, prm, mask] = [0, 1, 2, 3, 4, 5];
  const p = f.local(I32);
  const off = f.local(I32);
  const zero = f.local(V128);
  f.v128Zero().set(zero);
  const A: number[] = [];
  const B: number[] = [];
  const K: number[] = [];
  for (let v = 0; v < V; v++) {
    A.push(f.local(V128)); B.push(f.local(V128)); K.push(f.local(V128));
    f.get(prm).v128Load(16 * v).set(A[v]);
    f.get(prm).v128Load(4 * c + 16 * v).set(B[v]);
    f.get(prm).v128Load(8 * c + 16 * v).set(K[v]);
  }
  f.i32(0).set(off);
  f.forRange(p, { c: 0 }, m, 1, () => {
    for (let v = 0; v < V; v++) {
      f.get(dx).get(off).i32Add();
      f.get(dy).get(off).i32Add().v128Load(16 * v);
      if (masked) f.get(mask).get(off).i32Add().v128Load(16 * v).get(zero).f32x4Gt().v128And();
      f.get(A[v]).f32x4Mul();
      f.get(x).get(off).i32Add().v128Load(16 * v).get(B[v]).f32x4Mul().f32x4Add();
      f.get(K[v]).f32x4Add();
      f.v128Store(16 * v);
    }
    f.get(off).i32(c * 4).i32Add().set(off);
  });
  return f;
}

/**
 * An element-wise kernel name(in_0, ..., in_{k-1}, out, n16) over n16 groups of 16 floats, 4 vectors
 * per iteration: `body(f, load, zero)` leaves the output vector on the stack, `load(j)` pushes the
 * current vector of input j, `zero` is a local holding 0.
 */
function genElementwise16(name: string, inputs: number, body: (f: FnBuilder, load: (j: number) => FnBuilder, zero: number) => void): FnBuilder {
  const f = new FnBuilder(name, Array<typeof I32>(inputs + 2).fill(I32));
  const out = inputs;
  const n = inputs + 1;
  const i = f.local(I32);
  const off = f.local(I32);
  const zero = f.local(V128);
  f.v128Zero().set(zero);
  f.i32(0).set(off);
  f.forRange(i, { c: 0 }, n, 1, () => {
    for (let u = 0; u < 4; u++) {
      f.get(out).get(off).i32Add();
      body(f, (j) => f.get(j).get(off).i32Add().v128Load(16 * u), zero);
      f.v128Store(16 * u);
    }
    f.get(off).i32(64).i32Add().set(off);
  });
  return f;
}

/** reluGrad(dy, y, dx, n16): dx = y > 0 ? dy : 0 over n16 groups of 16 floats. */
function genReluGrad(): FnBuilder {
  return genElementwise16('reluGrad', 2, (f, load, zero) => {
    load(0);
    load(1).get(zero).f32x4Gt().v128And();
  });
}

/** relu(x, y, n16): y = max(x, 0) over n16 groups of 16 floats. */
function genRelu(): FnBuilder {
  return genElementwise16('relu', 1, (f, load, zero) => { load(0).get(zero).f32x4PMax(); });
}

/** addRelu(a, b, y, n16): y = max(a + b, 0) over n16 groups of 16 floats (the residual add and its ReLU in one pass). */
function genAddRelu(): FnBuilder {
  return genElementwise16('addRelu', 2, (f, load, zero) => {
    load(0);
    load(1).f32x4Add().get(zero).f32x4PMax();
  });
}

/**
 * toCHWN(x, xT, N, P, C): x [N, P, C] -> xT [C, P, N] for N and C multiples of 4 (4x4 blocks
 * transposed in registers).
 */
function genToCHWN(): FnBuilder {
  const f = new FnBuilder('toCHWN', [I32, I32, I32, I32, I32]);
  const [x, xt, n, pp, c] = [0, 1, 2, 3, 4];
  const b = f.local(I32);
  const p = f.local(I32);
  const k = f.local(I32);
  const src = f.local(I32);
  const dst = f.local(I32);
  const rowStride = f.local(I32); // bytes between x[b, p, :] and x[b+1, p, :] = P*C*4
  const plane = f.local(I32); // bytes between xT[c] and xT[c+1] = P*N*4
  const r = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const t = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  f.get(pp).get(c).i32Mul().i32(4).i32Mul().set(rowStride);
  f.get(pp).get(n).i32Mul().i32(4).i32Mul().set(plane);
  f.forRange(b, { c: 0 }, n, 4, () => {
    f.forRange(p, { c: 0 }, pp, 1, () => {
      f.forRange(k, { c: 0 }, c, 4, () => {
        // src = x + ((b*P + p)*C + k)*4
        f.get(x).get(b).get(pp).i32Mul().get(p).i32Add().get(c).i32Mul().get(k).i32Add().i32(4).i32Mul().i32Add().set(src);
        for (let i = 0; i < 4; i++) {
          f.get(src).v128Load().set(r[i]);
          if (i < 3) f.get(src).get(rowStride).i32Add().set(src);
        }
        f.get(r[0]).get(r[1]).i8x16Shuffle(lanes([0, 4, 1, 5])).set(t[0]);
        f.get(r[0]).get(r[1]).i8x16Shuffle(lanes([2, 6, 3, 7])).set(t[1]);
        f.get(r[2]).get(r[3]).i8x16Shuffle(lanes([0, 4, 1, 5])).set(t[2]);
        f.get(r[2]).get(r[3]).i8x16Shuffle(lanes([2, 6, 3, 7])).set(t[3]);
        // dst = xT + ((k*P + p)*N + b)*4
        f.get(xt).get(k).get(pp).i32Mul().get(p).i32Add().get(n).i32Mul().get(b).i32Add().i32(4).i32Mul().i32Add().set(dst);
        const outs: [number, number, number[]][] = [
          [t[0], t[2], [0, 1, 4, 5]], [t[0], t[2], [2, 3, 6, 7]], [t[1], t[3], [0, 1, 4, 5]], [t[1], t[3], [2, 3, 6, 7]],
        ];
        outs.forEach(([u, v, l], i) => {
          f.get(dst).get(u).get(v).i8x16Shuffle(lanes(l)).v128Store();
          if (i < 3) f.get(dst).get(plane).i32Add().set(dst);
        });
      });
    });
  });
  return f;
}

/**
 * rowCopy(src, dst, rows, srcStride, dstStride, n16): copies `rows` runs of 16*n16 floats from
 * src + i*srcStride to dst + i*dstStride (byte strides). Used for [N,P,F] -> [P,N,F] and for the
 * zero dilation of dy.
 */
function genRowCopy(): FnBuilder {
  const f = new FnBuilder('rowCopy', [I32, I32, I32, I32, I32, I32]);
  const [src, dst, rows, ss, ds, n16] = [0, 1, 2, 3, 4, 5];
  const i = f.local(I32);
  const j = f.local(I32);
  const ps = f.local(I32);
  const pd = f.local(I32);
  f.forRange(i, { c: 0 }, rows, 1, () => {
    f.get(src).get(i).get(ss).i32Mul().i32Add().set(ps);
    f.get(dst).get(i).get(ds).i32Mul().i32Add().set(pd);
    f.forRange(j, { c: 0 }, n16, 1, () => {
      for (let u = 0; u < 4; u++) f.get(pd).get(ps).v128Load(16 * u).v128Store(16 * u);
      f.get(ps).i32(64).i32Add().set(ps);
      f.get(pd).i32(64).i32Add().set(pd);
    });
  });
  return f;
}

/**
 * dwTap(x, dy, acc, rows, cols, xStride, xRowStride, dyRowStride, imgs, xImgStride, dyImgStride):
 * for one filter tap, acc[c, f] += sum over images m < imgs, rows r < rows, columns j < cols of
 * x[m*xImgStride + r*xRowStride + j*xStride + c] * dy[m*dyImgStride + r*dyRowStride + j*F*4 + f]
 * (byte strides; acc is [C, F] floats). Register tiles of ct channels x 4*fv filters.
 */
function genDwTap(c: number, fch: number): FnBuilder {
  const ct = c % 2 === 0 ? 2 : 1;
  const fvAll = fch / 4;
  const fv = fvAll % 4 === 0 ? 4 : fvAll % 2 === 0 ? 2 : 1;
  const f = new FnBuilder('k', [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [x, dy, acc, rows, cols, xs, xrs, dyrs, imgs, xis, dyis] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const ci = f.local(I32);
  const fi = f.local(I32);
  const pa = f.local(I32);
  const xc = f.local(I32);
  const dc = f.local(I32);
  const m = f.local(I32);
  const xi = f.local(I32);
  const di = f.local(I32);
  const r = f.local(I32);
  const j = f.local(I32);
  const px = f.local(I32);
  const pd = f.local(I32);
  const a: number[] = [];
  for (let i = 0; i < ct * fv; i++) a.push(f.local(V128));
  const d: number[] = [];
  for (let i = 0; i < fv; i++) d.push(f.local(V128));
  const sx = f.local(V128);
  // runtime loops over channel tiles (ci) and filter tiles (fi): small code, V8 compiles it well
  f.forRange(ci, { c: 0 }, { c: c / ct }, 1, () => {
    f.forRange(fi, { c: 0 }, { c: fch / (4 * fv) }, 1, () => {
      // pa = acc + (ci*ct*F + fi*4fv)*4; xc = x + ci*ct*4; dc = dy + fi*4fv*4
      f.get(acc).get(ci).i32(ct * fch * 4).i32Mul().i32Add().get(fi).i32(16 * fv).i32Mul().i32Add().set(pa);
      f.get(x).get(ci).i32(ct * 4).i32Mul().i32Add().set(xc);
      f.get(dy).get(fi).i32(16 * fv).i32Mul().i32Add().set(dc);
      for (let cc = 0; cc < ct; cc++) {
        for (let v = 0; v < fv; v++) f.get(pa).v128Load((cc * fch + 4 * v) * 4).set(a[cc * fv + v]);
      }
      f.get(xc).set(xi).get(dc).set(di);
      f.forRange(m, { c: 0 }, imgs, 1, () => {
        f.forRange(r, { c: 0 }, rows, 1, () => {
          f.get(xi).get(r).get(xrs).i32Mul().i32Add().set(px);
          f.get(di).get(r).get(dyrs).i32Mul().i32Add().set(pd);
          f.forRange(j, { c: 0 }, cols, 1, () => {
            for (let v = 0; v < fv; v++) f.get(pd).v128Load(16 * v).set(d[v]);
            for (let cc = 0; cc < ct; cc++) {
              f.get(px).v128Load32Splat(4 * cc).set(sx);
              for (let v = 0; v < fv; v++) madd(f, sx, d[v], a[cc * fv + v]);
            }
            f.get(px).get(xs).i32Add().set(px);
            f.get(pd).i32(fch * 4).i32Add().set(pd);
          });
        });
        f.get(xi).get(xis).i32Add().set(xi);
        f.get(di).get(dyis).i32Add().set(di);
      });
      for (let cc = 0; cc < ct; cc++) {
        for (let v = 0; v < fv; v++) f.get(pa).get(a[cc * fv + v]).v128Store((cc * fch + 4 * v) * 4);
      }
    });
  });
  return f;
}

/** Shape parameters of one generated convolution row kernel (see genConvRow). */
export interface ConvRowSpec {
  /** Reduction channels (input channels of the convolution run). */
  c: number;
  /** Output channels, a multiple of 4. */
  f: number;
  /** Input pixels advanced per output pixel. */
  sIn: number;
  /** Output pixels advanced per output pixel (2 writes every other pixel: polyphase). */
  sOut: number;
}

/** Channels unrolled per iteration of the innermost (channel) loop. */
let convUnroll = 1;
export function setConvUnroll(u: number): void { convUnroll = u; }

/**
 * convRow(in, w, out, cols, taps, nTaps): one output row of a convolution over a zero-padded
 * NHWC input, taps given as a table of nTaps i32 byte offsets into the input (row*wp + col)*C*4:
 *   out[j*sOut, f] = sum_t sum_c in[taps[t] + (j*sIn*C + c)*4] * w[(t*C + c)*F + f]
 * for j < cols. Register tile: 2 output pixels x 16 (or 8, 4) filters; runtime loops over taps
 * and channels (small loop bodies compile much better in V8 than fully unrolled code).
 */
/** Register tile of the convolution rows: pixels x (4 * vectors) filters. */
let convTile = { pixels: 2, vectors: 4 };
export function setConvTile(pixels: number, vectors: number): void { convTile = { pixels, vectors }; }

function genConvRow(spec: ConvRowSpec): FnBuilder {
  const { c, f: fch, sIn, sOut } = spec;
  const NP = convTile.pixels;
  const fv = fch % 16 === 0 && convTile.vectors >= 4 ? 4 : fch % 8 === 0 && convTile.vectors >= 2 ? 2 : 1;
  const cu = c % convUnroll === 0 ? convUnroll : 1;
  const f = new FnBuilder('k', [I32, I32, I32, I32, I32, I32]);
  const [inp, w, out, cols, tapTab, nTaps] = [0, 1, 2, 3, 4, 5];
  const j = f.local(I32);
  const t = f.local(I32);
  const k = f.local(I32);
  const px = f.local(I32);
  const pxk = f.local(I32);
  const pw = f.local(I32);
  const po = f.local(I32);
  const pairs = f.local(I32);
  const acc: number[] = [];
  for (let i = 0; i < NP * fv; i++) acc.push(f.local(V128));
  const wv: number[] = [];
  for (let i = 0; i < fv; i++) wv.push(f.local(V128));
  const sx = f.local(V128);
  const rest = f.local(I32);
  const pixIn = sIn * c * 4;
  const pixOut = sOut * fch * 4;
  const tile = (np: number, f0: number) => {
    for (let i = 0; i < np * fv; i++) f.v128Zero().set(acc[i]);
    f.get(w).i32(f0 * 4).i32Add().set(pw);
    f.forRange(t, { c: 0 }, nTaps, 1, () => {
      // pxk = px + taps[t]
      f.get(px).get(tapTab).get(t).i32(2).i32Shl().i32Add().i32Load().i32Add().set(pxk);
      f.forRange(k, { c: 0 }, { c: c / cu }, 1, () => {
        for (let cc = 0; cc < cu; cc++) {
          for (let v = 0; v < fv; v++) f.get(pw).v128Load((cc * fch + 4 * v) * 4).set(wv[v]);
          for (let p = 0; p < np; p++) {
            f.get(pxk).v128Load32Splat(cc * 4 + p * pixIn).set(sx);
            for (let v = 0; v < fv; v++) madd(f, sx, wv[v], acc[p * fv + v]);
          }
        }
        f.get(pxk).i32(cu * 4).i32Add().set(pxk);
        f.get(pw).i32(cu * fch * 4).i32Add().set(pw);
      });
    });
    for (let p = 0; p < np; p++) {
      for (let v = 0; v < fv; v++) f.get(po).get(acc[p * fv + v]).v128Store(p * pixOut + (f0 + 4 * v) * 4);
    }
  };
  for (let f0 = 0; f0 < fch; f0 += 4 * fv) {
    f.get(inp).set(px).get(out).set(po);
    f.get(cols).i32(NP).i32DivU().set(pairs);
    f.forRange(j, { c: 0 }, pairs, 1, () => {
      tile(NP, f0);
      f.get(px).i32(NP * pixIn).i32Add().set(px);
      f.get(po).i32(NP * pixOut).i32Add().set(po);
    });
    f.get(cols).get(pairs).i32(NP).i32Mul().i32Sub().set(rest);
    f.forRange(j, { c: 0 }, rest, 1, () => {
      tile(1, f0);
      f.get(px).i32(pixIn).i32Add().set(px);
      f.get(po).i32(pixOut).i32Add().set(po);
    });
  }
  return f;
}

export interface SimdKernels {
  /** The row kernel for a spec (see genConvRow), compiled once per spec: fn(input, w, out, cols, taps, nTaps). */
  convRow(spec: ConvRowSpec): (input: number, w: number, out: number, cols: number, taps: number, nTaps: number) => void;
  /** Filter-gradient accumulation of one tap (see genDwTap); F must be a multiple of 4. */
  dwTap(c: number, f: number, x: number, dy: number, acc: number, rows: number, cols: number,
    xStride: number, xRowStride: number, dyRowStride: number, imgs: number, xImgStride: number, dyImgStride: number): void;
  /** out(f64)[0..C) += sum (a - shA); [C..2C) += sum (a - shA)*(b - shB); shifts = [shA | shB] (f32). */
  sums(c: number, a: number, b: number, rows: number, out: number, shifts: number): void;
  affine(c: number, relu: boolean, x: number, y: number, rows: number, params: number): void;
  /** Batch norm with running statistics (see genBnInfer); params = [mean f32 | scale f32 | norm f64 | offset f64]. */
  bnInfer(c: number, relu: boolean, x: number, y: number, rows: number, params: number): void;
  bnBackward(c: number, dy: number, x: number, dx: number, rows: number, params: number): void;
  /** sums / bnBackward with a (dy) masked by mask > 0 (mask: rows of C floats, the ReLU's output). */
  sumsMasked(c: number, a: number, mask: number, b: number, rows: number, out: number, shifts: number): void;
  bnBackwardMasked(c: number, dy: number, mask: number, x: number, dx: number, rows: number, params: number): void;
  reluGrad(dy: number, y: number, dx: number, count: number): void;
  relu(x: number, y: number, count: number): void;
  addRelu(a: number, b: number, y: number, count: number): void;
  toCHWN(x: number, xt: number, n: number, p: number, c: number): void;
  rowCopy(src: number, dst: number, rows: number, srcStride: number, dstStride: number, n16: number): void;
}

/** Compiles the kernels against `memory` (the wasm backend's heap). */
export function createSimdKernels(memory: WebAssembly.Memory): SimdKernels {
  const perC = new Map<string, Exports>();
  const fixed = instantiate([genReluGrad(), genRelu(), genAddRelu(), genToCHWN(), genRowCopy()], memory);
  const forC = (c: number, kind: string): Exports => {
    const key = `${kind}:${c}:${fmaEnabled()}`;
    let e = perC.get(key);
    if (e === undefined) {
      const fn = kind === 'sums' ? genSums(c, 'k')
        : kind === 'sumsMasked' ? genSums(c, 'k', true)
          : kind === 'bnBackwardMasked' ? genBnBackward(c, 'k', true)
        : kind === 'affine' ? genAffine(c, false, 'k')
          : kind === 'affineRelu' ? genAffine(c, true, 'k')
            : kind === 'bnInfer' ? genBnInfer(c, false, 'k')
              : kind === 'bnInferRelu' ? genBnInfer(c, true, 'k')
            : kind.startsWith('dw') ? genDwTap(c, Number(kind.slice(2)))
              : genBnBackward(c, 'k');
      e = instantiate([fn], memory);
      perC.set(key, e);
    }
    return e;
  };
  return {
    convRow: (spec) => {
      const key = `conv:${spec.c}:${spec.f}:${spec.sIn}:${spec.sOut}:${convUnroll}:${fmaEnabled()}:${convTile.pixels}x${convTile.vectors}`;
      let e = perC.get(key);
      if (e === undefined) {
        e = instantiate([genConvRow(spec)], memory);
        perC.set(key, e);
      }
      return e.k as (input: number, w: number, out: number, cols: number, taps: number, nTaps: number) => void;
    },
    dwTap: (c, fch, x, dy, acc, rows, cols, xs, xrs, dyrs, imgs, xis, dyis) => {
      forC(c, `dw${fch}`).k(x, dy, acc, rows, cols, xs, xrs, dyrs, imgs, xis, dyis);
    },
    sums: (c, a, b, rows, out, shifts) => { forC(c, 'sums').k(a, b, rows, out, shifts); },
    affine: (c, relu, x, y, rows, params) => { forC(c, relu ? 'affineRelu' : 'affine').k(x, y, rows, params); },
    bnInfer: (c, relu, x, y, rows, params) => { forC(c, relu ? 'bnInferRelu' : 'bnInfer').k(x, y, rows, params); },
    bnBackward: (c, dy, x, dx, rows, params) => { forC(c, 'bnBackward').k(dy, x, dx, rows, params); },
    sumsMasked: (c, a, mask, b, rows, out, shifts) => { forC(c, 'sumsMasked').k(a, b, rows, out, shifts, mask); },
    bnBackwardMasked: (c, dy, mask, x, dx, rows, params) => { forC(c, 'bnBackwardMasked').k(dy, x, dx, rows, params, mask); },
    reluGrad: (dy, y, dx, count) => { fixed.reluGrad(dy, y, dx, count); },
    relu: (x, y, count) => { fixed.relu(x, y, count); },
    addRelu: (a, b, y, count) => { fixed.addRelu(a, b, y, count); },
    toCHWN: (x, xt, n, p, c) => { fixed.toCHWN(x, xt, n, p, c); },
    rowCopy: (src, dst, rows, ss, ds, n16) => { fixed.rowCopy(src, dst, rows, ss, ds, n16); },
  };
}
