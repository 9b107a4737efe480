// `hyperbooth <command> …`: each command is one module in tools/commands exporting
// `summary` and `run(argv)`; this file only dispatches.
const commands: Record<string, () => Promise<{ summary: string; run(argv: string[]): Promise<number | void> }>> = {
  'make-tiny-pack': () => import('./commands/makeTinyPack'),
  grad: () => import('./commands/grad'),
  pack: () => import('./commands/pack'),
  dataset: () => import('./commands/dataset'),
  eval: () => import('./commands/eval'),
  'sweep-lr': () => import('./commands/sweepLr'),
  train: () => import('./commands/train'),
  inspect: () => import('./commands/inspect'),
  'vae-psnr': () => import('./commands/vaePsnr'),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || !(name in commands)) {
    if (name && !(name in commands) && name !== '--help' && name !== '-h') console.error(`hyperbooth: unknown command "${name}"\n`);
    console.error('usage: hyperbooth <command> [options]\n\ncommands:');
    for (const [n, load] of Object.entries(commands)) {
      const summary = await load().then((m) => m.summary, () => '(not available)');
      console.error(`  ${n.padEnd(16)} ${summary}`);
    }
    return name && name !== '--help' && name !== '-h' ? 2 : 0;
  }
  const mod = await commands[name]();
  return (await mod.run(rest)) ?? 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => { console.error(`hyperbooth: ${e.message}`); process.exit(1); },
);
