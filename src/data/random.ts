/**
 * Seeded pseudo-random numbers, backend-independent so that the same seed gives the same data
 * order, augmentation and initial weights on every tfjs backend.
 * Generator: mulberry32 (Tommy Ettinger, public domain), 32-bit state, period 2^32.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer uniform in [0, n). */
  int(n: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** The generator's complete state (for checkpoints): restoring it continues the same stream. */
  state(): RngState;
}

/** Complete state of an Rng: the 32-bit mulberry32 counter and the spare Box–Muller normal. */
export interface RngState {
  a: number;
  spare: number | null;
}

/** Mixes a seed and a stream label into a 32-bit seed so that different uses of one run seed are independent. */
export function deriveSeed(seed: number, stream: string): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < stream.length; i++) {
    h = Math.imul(h ^ stream.charCodeAt(i), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
  }
  return Math.imul(h ^ (h >>> 16), 0xc2b2ae35) >>> 0;
}

/**
 * Creates a seeded generator.
 * @param seed any integer (taken modulo 2^32)
 * @param state a state from Rng.state() to continue from (the seed is then ignored)
 */
export function createRng(seed: number, state?: RngState): Rng {
  let a = state ? state.a >>> 0 : seed >>> 0;
  let spare: number | null = state ? state.spare : null;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    normal: () => {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    state: () => ({ a, spare }),
  };
}

/** Fisher–Yates shuffle of 0..n-1 with the given generator. */
export function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
