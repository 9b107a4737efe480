// No folder imports a folder that imports it back (src/<folder> and workers), checked over the
// real sources; the cycle finder itself is shown to catch cycles on graphs that have one.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeCycle, findCycle, folderEdges, folderGraph, folderOf, importSpecifiers } from './importGraph';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

describe('import graph between folders', () => {
  it('has no cycle', () => {
    const graph = folderGraph(ROOT);
    // the scan found the app's real dependencies (so an empty graph cannot pass)
    expect(folderEdges(graph).get('src/finetune')).toContain('src/pipeline');
    expect(folderEdges(graph).get('src/app')).toContain('workers');
    const cycle = findCycle(folderEdges(graph));
    expect(cycle, cycle && describeCycle(cycle, graph)).toBeUndefined();
  });

  it('reports a cycle introduced into the real graph, with the imports along it', () => {
    const graph = folderGraph(ROOT);
    // pipeline importing finetune back: the two-way import the folders used to have
    graph.get('src/pipeline')!.set('src/finetune', ["src/pipeline/personalize.ts: '../finetune/trainStep'"]);
    const cycle = findCycle(folderEdges(graph));
    expect(cycle).toBeDefined();
    expect(cycle![0]).toBe(cycle!.at(-1));
    expect(cycle).toContain('src/pipeline');
    expect(cycle).toContain('src/finetune');
    const message = describeCycle(cycle!, graph);
    console.log(message);
    expect(message).toMatch(/^import cycle between folders: /);
    expect(message).toContain("src/pipeline/personalize.ts: '../finetune/trainStep'");
  });

  it('finds cycles of any length in synthetic graphs, and none where there is none', () => {
    const g = (edges: Record<string, string[]>) => new Map(Object.entries(edges));
    expect(findCycle(g({ a: ['b'], b: ['c'], c: ['a'], d: ['a'] }))).toEqual(['a', 'b', 'c', 'a']);
    expect(findCycle(g({ x: ['y'], y: ['x'] }))).toEqual(['x', 'y', 'x']);
    // reached only through a node already finished: b → d → b is still found
    expect(findCycle(g({ a: ['b', 'c'], c: ['b'], b: ['d'], d: ['b'] }))).toEqual(['b', 'd', 'b']);
    // a diamond shares nodes without a cycle
    expect(findCycle(g({ a: ['b', 'c'], b: ['d'], c: ['d'], d: [] }))).toBeUndefined();
    expect(findCycle(g({}))).toBeUndefined();
  });

  it('reads every kind of import and names folders', () => {
    const text = [
      "import type { A } from './a';",
      "import { B } from '../b/b';",
      "export * from '../c';",
      "export { D } from '../../workers/d';",
      "const e = await import('../e/e');",
      "import 'node:fs';",
      "const w = new Worker(new URL('../../workers/w.worker.ts', import.meta.url));",
      "const data = new URL('../../public/models/tiny/pack.json', import.meta.url);",
    ].join('\n');
    expect(importSpecifiers(text)).toEqual(['./a', '../b/b', '../c', '../../workers/d', '../e/e', 'node:fs', '../../workers/w.worker.ts']);
    expect(folderOf('src/pipeline/pipeline.ts')).toBe('src/pipeline');
    expect(folderOf('src/autodiff')).toBe('src/autodiff');
    expect(folderOf('src/main.tsx')).toBe('src');
    expect(folderOf('workers/api.ts')).toBe('workers');
    expect(folderOf('tools/cli.ts')).toBeUndefined();
  });
});
