// Words for the Personalized panel and the LoRA import: how a fine-tune ended, what a LoRA set.
import type { FineTuneSettings, UseLoraResult } from '../../workers/api';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * "40 steps, lr 0.001, seed 0", or for a run that ended early the steps it really ran:
 * "2 of 60 steps — stopped early: cancelled, lr 0.001, seed 0".
 */
export function fineTuneSummary(settings: FineTuneSettings | undefined, stepsDone?: number, stoppedEarly?: string): string | undefined {
  if (!settings) return stoppedEarly ? `stopped early: ${stoppedEarly}` : undefined;
  const rest = `lr ${settings.learningRate}, seed ${settings.seed}`;
  const early = stoppedEarly ? ` — stopped early: ${stoppedEarly}` : '';
  if (stepsDone !== undefined && stepsDone < settings.steps) return `${stepsDone} of ${plural(settings.steps, 'step')}${early || ' — stopped early'}, ${rest}`;
  // how many ran is unknown (an imported file that does not say): name the request as such
  if (early) return `${plural(settings.steps, 'step')} requested${early}, ${rest}`;
  return `${plural(settings.steps, 'step')}, ${rest}`;
}

const FORMAT_NAMES: Record<UseLoraResult['format'], string> = { kohya: 'kohya', peft: 'PEFT', mixed: 'kohya + PEFT' };

/** "kohya LoRA at strength 0.8: applied to 16 of 16 layers, 4 modules ignored (no slot here)" */
export function loraImportSummary(result: Pick<UseLoraResult, 'format' | 'applied' | 'ignored'>, strength: number, layerCount: number): string {
  const ignored = result.ignored.length ? `, ${plural(result.ignored.length, 'module')} ignored (no slot here)` : '';
  return `${FORMAT_NAMES[result.format]} LoRA at strength ${formatStrength(strength)}: applied to ${result.applied} of ${plural(layerCount, 'layer')}${ignored}`;
}

/** 1 → "1", 0.75 → "0.75", 0.3000000004 → "0.3" */
export function formatStrength(strength: number): string {
  return String(Number(strength.toFixed(2)));
}

/**
 * The rank as the weights hold it: after the paper's full-space relaxation, the rank-1 LiDB plus
 * a residual of the fine-tune's rank; otherwise the LiDB's own rank.
 */
export function weightsRankText(a: { rank: number; settings?: { rank: number; relaxation?: string } }): string {
  return a.settings?.relaxation === 'full-space' ? `LiDB rank ${a.rank} + rank-${a.settings.rank} residual` : `rank ${a.rank}`;
}
