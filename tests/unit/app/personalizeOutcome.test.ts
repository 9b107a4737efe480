import { describe, expect, test } from 'vitest';
import { outcomeOf } from '../../../src/app/personalizeActions';

describe('outcomeOf', () => {
  test('a full run has no notice', () => {
    expect(outcomeOf({ losses: [1, 2, 3] }, 3)).toBeUndefined();
  });

  test('cancel says how far it got and that the last good weights are kept', () => {
    expect(outcomeOf({ losses: [1, 2], stoppedEarly: 'cancelled' }, 40)).toEqual({
      kind: 'cancelled',
      message: 'Cancelled after 2 of 40 fine-tune steps: the weights from the last finished step are kept.',
    });
  });

  test('a NaN stop quotes the worker and says the last good weights are kept', () => {
    const o = outcomeOf({ losses: [1, 2], stoppedEarly: 'non-finite loss at step 3: restored step 2' }, 40);
    expect(o?.kind).toBe('stopped-early');
    expect(o?.message).toBe('The fine-tune stopped early (non-finite loss at step 3: restored step 2). The last good weights are kept.');
  });
});
