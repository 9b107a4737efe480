// Seeded weights for the random-weight packs. Only integer arithmetic and additions of exactly
// representable numbers are used (no Math.log/cos), so the bytes are the same on every JS engine
// and a committed pack can be checked against a fresh build.
import { Uint32Source } from '../diffusion/random';

/**
 * sfc32: a small, fast 32-bit generator with a 2^128 state; seeded through splitmix32.
 * Not SeededRandom's xoshiro128**: the committed tiny pack's weights were generated with this
 * stream, so switching generators would change every committed weight.
 */
export class Prng extends Uint32Source {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    super();
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }
}

export class WeightInit {
  private readonly rng: Prng;
  constructor(seed: number) { this.rng = new Prng(seed); }

  normal(n: number, std: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.rng.normal() * std;
    return out;
  }

  /** A weight feeding `fanIn` inputs, scaled so a unit-variance input gives a unit-variance output. */
  fanIn(n: number, fanIn: number): Float32Array {
    return this.normal(n, 1 / Math.sqrt(fanIn));
  }

  /** Small random biases, so a miswired or dropped bias changes the output. */
  bias(n: number): Float32Array {
    return this.normal(n, 0.1);
  }

  ones(n: number): Float32Array { return new Float32Array(n).fill(1); }
  zeros(n: number): Float32Array { return new Float32Array(n); }
}
