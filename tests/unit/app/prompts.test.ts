import { describe, expect, test } from 'vitest';
import { containsWord, customPromptLines, promptItems, withTrigger } from '../../../src/app/prompts';
import { STYLE_PRESETS, stylePrompt } from '../../../src/packs/stylePresets';

describe('withTrigger', () => {
  test('a prompt that has the trigger is sent as written', () => {
    expect(withTrigger('a photo of sks face on the moon', 'sks')).toEqual({ prompt: 'a photo of sks face on the moon', added: false });
    expect(withTrigger('  SKS at the beach ', 'sks')).toEqual({ prompt: 'SKS at the beach', added: false });
  });

  test('the trigger goes before the subject word when there is one', () => {
    expect(withTrigger('a photo of a face as a Pixar character', 'sks').prompt).toBe('a photo of a sks face as a Pixar character');
    expect(withTrigger('portrait of a woman, oil on canvas', 'sks').prompt).toBe('portrait of a sks woman, oil on canvas');
  });

  test('a bare style phrase becomes "a <trigger> face …"', () => {
    expect(withTrigger('as a Pixar character', 'sks')).toEqual({ prompt: 'a sks face as a Pixar character', added: true });
    expect(withTrigger('in the style of Van Gogh', 'sks').prompt).toBe('a sks face in the style of Van Gogh');
    expect(withTrigger('cyberpunk neon city', 'sks').prompt).toBe('a sks face, cyberpunk neon city');
  });

  test('a word that merely contains the trigger does not count', () => {
    expect(containsWord('asks for a photo', 'sks')).toBe(false);
    expect(containsWord('sks.', 'sks')).toBe(true);
    expect(withTrigger('asks for a photo', 'sks').added).toBe(true);
  });

  test('triggers with regex characters are matched literally', () => {
    expect(containsWord('a [V] face', '[V]')).toBe(true);
    expect(containsWord('a V face', '[V]')).toBe(false);
  });
});

describe('promptItems', () => {
  test('one item per selected style in preset order, then one per non-empty line', () => {
    const [first, second] = STYLE_PRESETS;
    const items = promptItems([second.id, first.id], 'on the moon\n\n  a face at sea  \n', 'sks', true);
    expect(items.map((i) => i.prompt)).toEqual([
      stylePrompt(first, 'sks'),
      stylePrompt(second, 'sks'),
      'a sks face on the moon',
      'a sks face at sea',
    ]);
    expect(items.map((i) => i.label)).toEqual([first.label, second.label, 'Your prompt', 'Your prompt']);
    expect(items.slice(2).every((i) => i.triggerAdded)).toBe(true);
  });

  test('without a personalization own prompts are sent as written (plain text-to-image)', () => {
    expect(promptItems([], 'a photo of a face', 'sks', false)).toEqual([{ prompt: 'a photo of a face', label: 'Your prompt', triggerAdded: false }]);
  });

  test('unknown style ids are ignored', () => {
    expect(promptItems(['no-such-style'], '', 'sks', true)).toEqual([]);
  });

  test('customPromptLines splits on any newline and drops blank lines', () => {
    expect(customPromptLines('a\r\nb\n \n c ')).toEqual(['a', 'b', 'c']);
  });
});
