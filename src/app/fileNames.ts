// Names people give their personalizations, and the file names their downloads get.
import type { LoraFileFormat } from '../../workers/api';

export const MAX_NAME_LENGTH = 60;

/** A display name as typed, tidied: one line, single spaces, at most MAX_NAME_LENGTH characters. */
export function cleanName(input: string): string | { problem: string } {
  const name = input.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
  if (name === '') return { problem: 'A name cannot be empty.' };
  return [...name].slice(0, MAX_NAME_LENGTH).join('').trim();
}

/** The first name suggested for a selfie: its file name without the extension. */
export function nameFromFile(fileName: string | undefined, fallback = 'My personalization'): string {
  const base = (fileName ?? '')
    .replace(/^.*[\\/]/, '')
    .replace(/\.lidb\.safetensors$/i, '')
    .replace(/\.[a-z0-9]{1,10}$/i, '')
    .replace(/[_]+/g, ' ');
  const clean = cleanName(base);
  return typeof clean === 'string' ? clean : fallback;
}

/** `name`, or `name (2)`, `name (3)`… whichever is not taken yet (case-insensitively). */
export function uniqueName(name: string, taken: Iterable<string>): string {
  const used = new Set([...taken].map((t) => t.toLowerCase()));
  if (!used.has(name.toLowerCase())) return name;
  for (let i = 2; ; i++) {
    const candidate = `${name} (${i})`;
    if (!used.has(candidate.toLowerCase())) return candidate;
  }
}

/** A file-system-safe stem: letters, digits, dashes; never empty. */
export function fileStem(name: string): string {
  const stem = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
  return stem || 'personalization';
}

/** `<name>.lidb.safetensors`, `<name>.kohya.safetensors`, `<name>.peft.safetensors`. */
export function personalizationFileName(name: string, format: LoraFileFormat): string {
  return `${fileStem(name)}.${format}.safetensors`;
}
