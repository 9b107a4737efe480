/**
 * "Perfect" models for a known clean sample x0: given x_t they return the
 * exact epsilon / v that produced it. A correct sampler driven by such a
 * model must land on x0, which tests the update formulas independently of
 * diffusers' reference numbers.
 */

export function syntheticX0(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 0.8);
}

/** eps such that x_t = sqrt(ab) x0 + sqrt(1 - ab) eps. */
export function oracleEpsilon(xT: Float32Array, x0: Float32Array, alphaBar: number): Float32Array {
  return xT.map((x, i) => (x - Math.sqrt(alphaBar) * x0[i]) / Math.sqrt(1 - alphaBar));
}

/** v = sqrt(ab) eps - sqrt(1 - ab) x0 for the eps above. */
export function oracleVelocity(xT: Float32Array, x0: Float32Array, alphaBar: number): Float32Array {
  const eps = oracleEpsilon(xT, x0, alphaBar);
  return eps.map((e, i) => Math.sqrt(alphaBar) * e - Math.sqrt(1 - alphaBar) * x0[i]);
}
