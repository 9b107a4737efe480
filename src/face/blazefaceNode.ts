// Node only: the BlazeFace model bytes straight from the installed npm package.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { BLAZEFACE_MODEL } from './blazeface';

export function blazeFaceModelPath(): string {
  return createRequire(import.meta.url).resolve(BLAZEFACE_MODEL);
}

export async function readBlazeFaceModel(): Promise<Uint8Array> {
  return new Uint8Array(await readFile(blazeFaceModelPath()));
}
