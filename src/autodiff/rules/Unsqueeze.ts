import { reshapeRule } from './reshapeLike';

export const Unsqueeze = reshapeRule('Unsqueeze');
