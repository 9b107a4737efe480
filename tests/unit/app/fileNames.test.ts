import { describe, expect, test } from 'vitest';
import { cleanName, fileStem, MAX_NAME_LENGTH, nameFromFile, personalizationFileName, uniqueName } from '../../../src/app/fileNames';
import { pngFileName } from '../../../src/app/imageUtils';

describe('personalization names', () => {
  test('cleanName tidies whitespace and control characters, refuses empty names, caps the length', () => {
    expect(cleanName('  Anna \n at\tthe   beach ')).toBe('Anna at the beach');
    expect(cleanName(' \u0000 \n')).toEqual({ problem: 'A name cannot be empty.' });
    const long = cleanName('x'.repeat(200));
    expect(typeof long === 'string' && long.length).toBe(MAX_NAME_LENGTH);
    // capping never splits a surrogate pair
    const emoji = cleanName('😀'.repeat(100));
    expect(typeof emoji === 'string' && [...emoji].length).toBe(MAX_NAME_LENGTH);
  });

  test('nameFromFile drops the folder and the extension', () => {
    expect(nameFromFile('astronaut_portrait_1536x2048.jpg')).toBe('astronaut portrait 1536x2048');
    expect(nameFromFile('C:\\photos\\me.JPEG')).toBe('me');
    expect(nameFromFile('anna.lidb.safetensors')).toBe('anna');
    expect(nameFromFile('.jpg')).toBe('My personalization');
    expect(nameFromFile(undefined)).toBe('My personalization');
  });

  test('uniqueName counts up past taken names, case-insensitively', () => {
    expect(uniqueName('Anna', [])).toBe('Anna');
    expect(uniqueName('Anna', ['anna', 'Anna (2)'])).toBe('Anna (3)');
  });
});

describe('download file names', () => {
  test('LiDB, kohya and PEFT files are named after the personalization', () => {
    expect(personalizationFileName('Anna at the beach', 'lidb')).toBe('anna-at-the-beach.lidb.safetensors');
    expect(personalizationFileName('Anna at the beach', 'kohya')).toBe('anna-at-the-beach.kohya.safetensors');
    expect(personalizationFileName('Anna at the beach', 'peft')).toBe('anna-at-the-beach.peft.safetensors');
  });

  test('fileStem folds accents, drops unsafe characters and is never empty', () => {
    expect(fileStem('Zoë / Ünal: ../../etc')).toBe('zoe-unal-etc');
    expect(fileStem('写真')).toBe('personalization');
    expect(fileStem('a'.repeat(100))).toHaveLength(48);
  });

  test('pngFileName: the start of the prompt and the seed', () => {
    expect(pngFileName('a photo of sks face as a Pixar character', 42)).toBe('a-photo-of-sks-face-as-a-pixar-character-seed42.png');
    expect(pngFileName('!!!', 1)).toBe('hyperbooth-seed1.png');
  });
});
