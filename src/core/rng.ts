// Seeded pseudo-random numbers. Everything random in tradeloop draws from one of these, so a seed
// reproduces a run exactly; Math.random is never used in domain code.

/** xoshiro128** seeded through splitmix32: fast, 32-bit state words, good statistical quality. */
/** Seeds are 32-bit: a larger one would wrap onto a smaller one's stream (2^32 + 1 is seed 1). */
export const SEED_MAX = 0xffffffff;

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /**
   * The second normal of the last Box-Muller pair, valid while `hasSpare`. A flag beside a plain
   * double (not `number | undefined`) keeps the field an unboxed double: no heap number per draw.
   */
  private spareNormal = 0;
  private hasSpare = false;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [lo, hi]. */
  intBetween(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal (Box-Muller, caching the second draw). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spareNormal;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    this.hasSpare = true;
    return r * Math.cos(2 * Math.PI * v);
  }

  /**
   * Moves the stream past `k` standard normals without computing them: afterwards the stream is
   * exactly where `k` calls of `normal()` would leave it. Whole Box-Muller pairs cost two uniforms
   * each; only a pair split by the skip is computed, for its spare.
   */
  skipNormals(k: number): void {
    let left = k;
    if (left > 0 && this.hasSpare) {
      this.hasSpare = false;
      left--;
    }
    for (; left >= 2; left -= 2) {
      while (this.nextU32() === 0);
      this.nextU32();
    }
    if (left === 1) this.normal();
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    let u = 0;
    while (u === 0) u = this.next();
    return -Math.log(u) * mean;
  }

  /** Log-normal with the given median and log-space sigma. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  bool(p: number): boolean {
    return this.next() < p;
  }

  /** A new independent stream derived from this one (for giving each component its own stream). */
  fork(): Rng {
    return new Rng(this.nextU32());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
