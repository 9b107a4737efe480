import type { GradRule } from '../types';

export const Identity: GradRule = { opType: 'Identity', gradFunc: (ctx) => [() => ctx.dy()!] };
