// `npm run bench -- <name> [options]`: each benchmark is tools/bench/<name>.ts exporting
// `summary` and `run(argv)`; this file only dispatches.
export {};
const benches: Record<string, () => Promise<{ summary: string; run(argv: string[]): Promise<number | void> }>> = {
  flow: () => import('./flow'),
  generate: () => import('./generate'),
  grad: () => import('./grad'),
  import: () => import('./import'),
  pack: () => import('./pack'),
  personalize: () => import('./personalize'),
  baselines: () => import('./baselines'),
  sd15: () => import('./sd15'),
  'chromium-sd15': () => import('./chromiumSd15'),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || !(name in benches)) {
    if (name && name !== '--help') console.error(`bench: unknown benchmark "${name}"\n`);
    console.error('usage: npm run bench -- <benchmark> [options]\n\nbenchmarks:');
    for (const [n, load] of Object.entries(benches)) console.error(`  ${n.padEnd(12)} ${(await load()).summary}`);
    return name && name !== '--help' ? 2 : 0;
  }
  return (await (await benches[name]()).run(rest)) ?? 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => { console.error(`bench: ${e.stack ?? e.message}`); process.exit(1); },
);
