// LidbRng keeps its xoshiro128** state in an Int32Array and sums the 12 draws of a normal in one
// pass (6 s → 1 s for SD1.5's aux bases): every draw must stay what the generic path gives
// (SeededRandom's steps from the same state, Uint32Source.normal's 12 quotients), since every
// pack's aux bases, and the LiDBs made for them, come from this stream.
import { describe, expect, it } from 'vitest';
import { SeededRandom, Uint32Source } from '../../../src/diffusion/random';
import { LidbRng } from '../../../src/lidb/random';
import { makeAuxBases, makeAuxBasesInSlices, writeAuxFile } from '../../../src/lidb/aux';

/** the generic path: SeededRandom's nextUint32 under Uint32Source's uniform() and normal() */
class Generic extends Uint32Source {
  constructor(private readonly source: SeededRandom) { super(); }
  nextUint32(): number { return this.source.nextUint32(); }
}

describe('LidbRng', () => {
  for (const [seed, stream] of [[2307, 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.d_aux'], [0, ''], [2 ** 40 + 5, 'x']] as const) {
    it(`draws what SeededRandom + Uint32Source draw from its state (seed ${seed})`, () => {
      const fast = new LidbRng(seed, stream);
      const generic = new Generic(SeededRandom.fromState(fast.state()));
      for (let i = 0; i < 3000; i++) {
        // interleaved, so the state carries from one kind of draw to the other
        if (i % 3 === 0) expect(fast.nextUint32()).toBe(generic.nextUint32());
        else if (i % 3 === 1) expect(fast.uniform()).toBe(generic.uniform());
        else expect(Object.is(fast.normal(), generic.normal())).toBe(true);
      }
      expect(fast.state()).toEqual(SeededRandom.fromState(fast.state()).getState());
    });
  }
});

describe('aux bases in slices (started while a pack\'s weights stream)', () => {
  const layers = [
    { name: 'a.to_q', target: 'unet' as const, nIn: 64, nOut: 48 },
    { name: 'a.to_k', target: 'unet' as const, nIn: 24, nOut: 48, a: 10, b: 7 },
    { name: 't.q_proj', target: 'text_encoder' as const, nIn: 32, nOut: 32 },
  ];
  it('are the bases makeAuxBases makes, bit for bit, with a pause before each', async () => {
    let pauses = 0;
    const sliced = await makeAuxBasesInSlices(layers, 2307, async () => { pauses++; });
    expect(pauses).toBe(layers.length);
    expect(Buffer.from(writeAuxFile(sliced)).equals(Buffer.from(writeAuxFile(makeAuxBases(layers, 2307))))).toBe(true);
  });

  it('stop at the next slice once the pack is aborted', async () => {
    const c = new AbortController();
    const run = makeAuxBasesInSlices(layers, 1, async () => { c.abort(new Error('cancelled')); }, c.signal);
    await expect(run).rejects.toThrow('cancelled');
  });
});
