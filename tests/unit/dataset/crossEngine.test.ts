import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Renders must be byte-identical in every JS engine, not just V8. When a SpiderMonkey shell
// (Firefox's engine; Debian: `apt-get install libmozjs-102-dev` gives /usr/bin/js102) is on
// the PATH, bundle the renderer and compare its bytes with Node's. Without one this is skipped.
const shell = ['js128', 'js115', 'js102', 'js91', 'js78'].find((s) => spawnSync('sh', ['-c', `command -v ${s}`]).status === 0);

const ENTRY = `
import { identitySeed, photoSeed, renderStyled, sampleIdentity, STYLES } from './src/dataset';
function fnv(bytes) { let h = 0x811c9dc5; for (let i = 0; i < bytes.length; i++) { h ^= bytes[i]; h = Math.imul(h, 0x01000193); } return (h >>> 0).toString(16); }
globalThis.hbHashes = () => {
  const out = [];
  for (let i = 0; i < 4; i++) {
    const id = sampleIdentity(identitySeed('heldout', i));
    for (const s of STYLES) out.push(fnv(renderStyled(id, s, photoSeed(id.seed, i), i === 0 ? 128 : 64).data));
  }
  return JSON.stringify(out);
};
`;

describe.skipIf(!shell)(`renderer in SpiderMonkey (${shell ?? 'no shell found'})`, () => {
  it('gives the same bytes as in Node for every style', async () => {
    const esbuild = await import('esbuild');
    const dir = mkdtempSync(join(tmpdir(), 'hb-engine-'));
    try {
      const { outputFiles } = await esbuild.build({
        stdin: { contents: ENTRY, resolveDir: join(__dirname, '../../..'), loader: 'ts' },
        bundle: true, format: 'iife', platform: 'neutral', target: 'es2020', write: false,
      });
      const bundle = outputFiles[0].text;
      writeFileSync(join(dir, 'sm.js'), `${bundle}\nprint(hbHashes());\n`);
      writeFileSync(join(dir, 'node.js'), `${bundle}\nconsole.log(hbHashes());\n`);
      const fromSpiderMonkey = execFileSync(shell!, [join(dir, 'sm.js')], { encoding: 'utf8' }).trim();
      const fromNode = execFileSync(process.execPath, [join(dir, 'node.js')], { encoding: 'utf8' }).trim();
      expect(JSON.parse(fromNode)).toHaveLength(32);
      expect(fromSpiderMonkey).toBe(fromNode);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
