import { extremumRule } from './minmax';

export const Min = extremumRule('Min');
