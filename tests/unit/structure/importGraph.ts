// The import graph between the top-level folders of the app's code (src/<folder> and workers),
// read from the sources with TypeScript's own import scanner, and a cycle finder over it.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** from-folder → to-folder → the imports that make that edge (`file: 'specifier'`) */
export type FolderGraph = Map<string, Map<string, string[]>>;

/**
 * Every module a source file loads: static imports (type-only ones too: a folder that needs
 * another's types depends on it), re-exports, dynamic import() and `new URL('x.ts',
 * import.meta.url)` (how Vite bundles a worker).
 */
export function importSpecifiers(text: string): string[] {
  const scanned = ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
  const urls = [...text.matchAll(/new URL\(\s*['"]([^'"]+\.tsx?)['"]\s*,\s*import\.meta\.url\s*\)/g)].map((m) => m[1]);
  return [...scanned, ...urls];
}

/** `src/<folder>` for a file under it, `workers` for the worker files, `src` for src's own files. */
export function folderOf(path: string): string | undefined {
  const parts = path.split('/');
  if (parts[0] === 'workers') return 'workers';
  if (parts[0] !== 'src') return undefined;
  return parts.length > 2 || !/\.[cm]?[jt]sx?$/.test(parts[1] ?? '') ? `src/${parts[1]}` : 'src';
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(e.name) ? [path] : [];
  });
}

/** The folder graph of `root`'s src/ and workers/ (imports inside one folder are not edges). */
export function folderGraph(root: string): FolderGraph {
  const graph: FolderGraph = new Map();
  for (const file of ['src', 'workers'].flatMap((d) => sourceFiles(join(root, d)))) {
    const from = folderOf(toPosix(relative(root, file)));
    if (!from) continue;
    for (const spec of importSpecifiers(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue; // a package
      const target = toPosix(relative(root, resolve(dirname(file), spec.split('?')[0])));
      const to = folderOf(target);
      if (!to || to === from) continue;
      const edges = graph.get(from) ?? new Map<string, string[]>();
      graph.set(from, edges);
      edges.set(to, [...(edges.get(to) ?? []), `${toPosix(relative(root, file))}: '${spec}'`]);
    }
  }
  return graph;
}

const toPosix = (p: string): string => p.split(sep).join('/');

/**
 * One cycle of `graph` as the folders along it, first repeated at the end (a → b → a), or
 * undefined when there is none. Depth-first: an edge back to a folder still on the path closes one.
 */
export function findCycle(graph: ReadonlyMap<string, Iterable<string>>): string[] | undefined {
  const done = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();
  const visit = (node: string): string[] | undefined => {
    if (onPath.has(node)) return [...path.slice(path.indexOf(node)), node];
    if (done.has(node)) return undefined;
    path.push(node);
    onPath.add(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    onPath.delete(node);
    done.add(node);
    return undefined;
  };
  for (const node of [...graph.keys()].sort()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

/** The cycle with the imports that make each of its edges, for a failure message. */
export function describeCycle(cycle: readonly string[], graph: FolderGraph): string {
  const lines = [`import cycle between folders: ${cycle.join(' → ')}`];
  for (let i = 0; i + 1 < cycle.length; i++) {
    const imports = graph.get(cycle[i])?.get(cycle[i + 1]) ?? [];
    lines.push(`  ${cycle[i]} → ${cycle[i + 1]}:`, ...imports.slice(0, 5).map((s) => `    ${s}`));
    if (imports.length > 5) lines.push(`    … and ${imports.length - 5} more`);
  }
  return lines.join('\n');
}

/** The graph's edges without the import lists: folder → the folders it imports. */
export const folderEdges = (graph: FolderGraph): Map<string, string[]> =>
  new Map([...graph].map(([from, to]) => [from, [...to.keys()].sort()]));
