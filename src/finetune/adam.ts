// Adam (Kingma & Ba) with decoupled weight decay (AdamW, Loshchilov & Hutter) over named
// Float32Array parameters, updated in place: the trainable LoRA/LiDB weights are a few hundred
// thousand numbers, so the optimizer runs on the host between gradient-graph runs.
export interface AdamOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** decoupled: each step multiplies parameters by (1 − lr·weightDecay) */
  weightDecay?: number;
}

export interface AdamState {
  t: number;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
}

export class Adam {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  private t = 0;

  constructor(readonly params: Record<string, Float32Array>, opts: AdamOptions = {}) {
    this.lr = opts.lr ?? 1e-3;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    if (!(this.lr > 0)) throw new Error(`Adam: lr must be positive, got ${this.lr}`);
    for (const [k, b] of [['beta1', this.beta1], ['beta2', this.beta2]] as const) {
      if (!(b >= 0 && b < 1)) throw new Error(`Adam: ${k} must be in [0, 1), got ${b}`);
    }
    for (const [name, p] of Object.entries(params)) {
      this.m.set(name, new Float32Array(p.length));
      this.v.set(name, new Float32Array(p.length));
    }
  }

  get steps(): number { return this.t; }

  /** The moments and step count, for a checkpoint (live views: copy or write them out before the next step). */
  getState(): AdamState {
    return { t: this.t, m: Object.fromEntries(this.m), v: Object.fromEntries(this.v) };
  }

  /** Restores a checkpoint's moments and step count, so the next step is the one the run would have taken. */
  setState(state: AdamState): void {
    if (!Number.isInteger(state.t) || state.t < 0) throw new Error(`Adam: step count must be a non-negative integer, got ${state.t}`);
    for (const [name, p] of Object.entries(this.params)) {
      for (const [kind, src, dst] of [['m', state.m, this.m], ['v', state.v, this.v]] as const) {
        const value = src[name];
        if (!value) throw new Error(`Adam state: no ${kind} for '${name}'`);
        if (value.length !== p.length) throw new Error(`Adam state: ${kind} of '${name}' has ${value.length} values, the parameter ${p.length}`);
        dst.get(name)!.set(value);
      }
    }
    this.t = state.t;
  }

  /** One update from gradients of every parameter (same names and sizes); `lr` overrides the rate for this step (a schedule). */
  step(grads: Record<string, Float32Array>, lr = this.lr): void {
    for (const name of Object.keys(this.params)) {
      const g = grads[name];
      if (!g) throw new Error(`Adam: no gradient for '${name}'`);
      if (g.length !== this.params[name].length) throw new Error(`Adam: gradient of '${name}' has ${g.length} values, the parameter ${this.params[name].length}`);
    }
    this.t++;
    const { beta1, beta2, eps, weightDecay } = this;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    for (const [name, p] of Object.entries(this.params)) {
      const g = grads[name];
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i];
        m[i] = beta1 * m[i] + (1 - beta1) * gi;
        v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
        const update = (m[i] / c1) / (Math.sqrt(v[i] / c2) + eps);
        p[i] = p[i] * (1 - lr * weightDecay) - lr * update;
      }
    }
  }
}
