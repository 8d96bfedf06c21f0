/**
 * A tiny WebAssembly binary writer, enough to generate SIMD kernels at run time that operate on
 * the wasm backend's own heap (the generated module imports the backend's WebAssembly.Memory).
 * No toolchain is needed: the code is emitted as bytes here, specialised per tensor shape.
 */

export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof F64 | typeof V128;

function uleb(n: number, out: number[]): void {
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
}

function sleb(n: number, out: number[]): void {
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

/** Emits the body of one function. Locals are numbered after the parameters. */
export class FnBuilder {
  readonly code: number[] = [];
  private readonly locals: ValType[] = [];

  constructor(readonly name: string, readonly params: ValType[], readonly results: ValType[] = []) {}

  local(t: ValType): number {
    this.locals.push(t);
    return this.params.length + this.locals.length - 1;
  }

  private op(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }
  private simd(opcode: number): this {
    this.code.push(0xfd);
    uleb(opcode, this.code);
    return this;
  }
  private mem(align: number, offset: number): this {
    uleb(align, this.code);
    uleb(offset, this.code);
    return this;
  }

  // control
  block(): this { return this.op(0x02, 0x40); }
  loop(): this { return this.op(0x03, 0x40); }
  if_(): this { return this.op(0x04, 0x40); }
  else_(): this { return this.op(0x05); }
  end(): this { return this.op(0x0b); }
  br(depth: number): this { this.op(0x0c); uleb(depth, this.code); return this; }
  brIf(depth: number): this { this.op(0x0d); uleb(depth, this.code); return this; }
  drop(): this { return this.op(0x1a); }

  // locals
  get(i: number): this { this.op(0x20); uleb(i, this.code); return this; }
  set(i: number): this { this.op(0x21); uleb(i, this.code); return this; }
  tee(i: number): this { this.op(0x22); uleb(i, this.code); return this; }

  // i32
  i32(v: number): this { this.op(0x41); sleb(v | 0, this.code); return this; }
  i32Eqz(): this { return this.op(0x45); }
  i32Eq(): this { return this.op(0x46); }
  i32Ne(): this { return this.op(0x47); }
  i32LtS(): this { return this.op(0x48); }
  i32LtU(): this { return this.op(0x49); }
  i32GtS(): this { return this.op(0x4a); }
  i32GeS(): this { return this.op(0x4e); }
  i32Add(): this { return this.op(0x6a); }
  i32Sub(): this { return this.op(0x6b); }
  i32Mul(): this { return this.op(0x6c); }
  i32Shl(): this { return this.op(0x74); }
  i32ShrU(): this { return this.op(0x76); }
  i32DivU(): this { return this.op(0x6e); }
  i32And(): this { return this.op(0x71); }

  // f32 / f64 scalar
  i32Load(offset = 0): this { return this.op(0x28).mem(2, offset); }
  f32Load(offset = 0): this { return this.op(0x2a).mem(2, offset); }
  f32Store(offset = 0): this { return this.op(0x38).mem(2, offset); }
  f64Load(offset = 0): this { return this.op(0x2b).mem(3, offset); }
  f64Store(offset = 0): this { return this.op(0x39).mem(3, offset); }
  f32(v: number): this {
    this.op(0x43);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    return this.op(...b);
  }
  f32Add(): this { return this.op(0x92); }
  f32Sub(): this { return this.op(0x93); }
  f32Mul(): this { return this.op(0x94); }
  f32Max(): this { return this.op(0x97); }
  f64Add(): this { return this.op(0xa0); }
  f64Mul(): this { return this.op(0xa2); }
  f64PromoteF32(): this { return this.op(0xbb); }

  // v128
  v128Load(offset = 0): this { return this.simd(0x00).mem(4, offset); }
  v128Load32Splat(offset = 0): this { return this.simd(0x09).mem(2, offset); }
  v128Store(offset = 0): this { return this.simd(0x0b).mem(4, offset); }
  v128Zero(): this { this.simd(0x0c); for (let i = 0; i < 16; i++) this.code.push(0); return this; }
  i8x16Shuffle(lanes: number[]): this { this.simd(0x0d); return this.op(...lanes); }
  f32x4Splat(): this { return this.simd(0x13); }
  f32x4ExtractLane(l: number): this { this.simd(0x1f); return this.op(l); }
  f32x4Gt(): this { return this.simd(0x44); }
  v128And(): this { return this.simd(0x4e); }
  f32x4Add(): this { return this.simd(0xe4); }
  f32x4Sub(): this { return this.simd(0xe5); }
  f32x4Mul(): this { return this.simd(0xe6); }
  f32x4Max(): this { return this.simd(0xe9); }
  f32x4PMax(): this { return this.simd(0xeb); }
  f64x2Add(): this { return this.simd(0xf0); }
  f64x2Div(): this { return this.simd(0xf3); }
  f32x4DemoteF64x2Zero(): this { return this.simd(0x5e); }
  /** relaxed-simd f32x4.relaxed_madd: a * b + c (fused where the CPU has FMA). */
  f32x4RelaxedMadd(): this { return this.simd(0x105); }
  f64x2PromoteLowF32x4(): this { return this.simd(0x5f); }

  /**
   * for (i = start; i < end; i += step) body(), with i, start, end and step given as locals or
   * constants. The body must leave the stack empty.
   */
  forRange(i: number, start: number | { c: number }, end: number | { c: number }, step: number, body: () => void): this {
    const push = (v: number | { c: number }) => (typeof v === 'number' ? this.get(v) : this.i32(v.c));
    push(start).set(i);
    push(start); push(end); this.i32LtS();
    this.if_().loop();
    body();
    this.get(i).i32(step).i32Add().tee(i);
    push(end).i32LtS().brIf(0);
    this.end().end();
    return this;
  }

  bytes(): number[] {
    const out: number[] = [];
    // run-length encode local declarations
    const groups: [number, ValType][] = [];
    for (const t of this.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    uleb(groups.length, out);
    for (const [n, t] of groups) { uleb(n, out); out.push(t); }
    for (const b of this.code) out.push(b);
    out.push(0x0b);
    const sized: number[] = [];
    uleb(out.length, sized);
    return sized.concat(out);
  }
}

function section(id: number, payload: number[], out: number[]): void {
  out.push(id);
  uleb(payload.length, out);
  for (const b of payload) out.push(b);
}

function str(s: string, out: number[]): void {
  const b = Buffer.from(s, 'utf8');
  uleb(b.length, out);
  for (const x of b) out.push(x);
}

/**
 * Builds a module importing memory env.memory and exporting the given functions by name.
 * @param shared import a shared memory (the threaded wasm build), max 4 GiB
 */
export function buildModule(fns: FnBuilder[], shared = false): Uint8Array {
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const types: number[] = [];
  uleb(fns.length, types);
  for (const f of fns) {
    types.push(0x60);
    uleb(f.params.length, types); types.push(...f.params);
    uleb(f.results.length, types); types.push(...f.results);
  }
  section(1, types, out);
  const imports: number[] = [];
  uleb(1, imports);
  str('env', imports); str('memory', imports);
  if (shared) {
    imports.push(0x02, 0x03, 0x00); // memory, limits: shared, min 0, max 65536 pages
    uleb(65536, imports);
  } else {
    imports.push(0x02, 0x00, 0x00); // memory, limits: min 0, no max
  }
  section(2, imports, out);
  const funcs: number[] = [];
  uleb(fns.length, funcs);
  fns.forEach((_, i) => uleb(i, funcs));
  section(3, funcs, out);
  const exports: number[] = [];
  uleb(fns.length, exports);
  fns.forEach((f, i) => { str(f.name, exports); exports.push(0x00); uleb(i, exports); });
  section(7, exports, out);
  const code: number[] = [];
  uleb(fns.length, code);
  for (const f of fns) code.push(...f.bytes());
  section(10, code, out);
  return new Uint8Array(out);
}

/** True when this engine validates relaxed-SIMD f32x4.relaxed_madd. */
export function hasRelaxedSimd(): boolean {
  const f = new FnBuilder('m', [V128, V128, V128], [V128]);
  f.get(0).get(1).get(2).f32x4RelaxedMadd();
  try {
    return WebAssembly.validate(buildModule([f]));
  } catch {
    return false;
  }
}

/** Compiles and instantiates a generated module against the given memory. */
export function instantiate(fns: FnBuilder[], memory: WebAssembly.Memory): Record<string, (...args: number[]) => number | void> {
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const mod = new WebAssembly.Module(buildModule(fns, shared));
  const inst = new WebAssembly.Instance(mod, { env: { memory } });
  return inst.exports as unknown as Record<string, (...args: number[]) => number | void>;
}
