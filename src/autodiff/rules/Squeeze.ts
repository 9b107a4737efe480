import { reshapeRule } from './reshapeLike';

export const Squeeze = reshapeRule('Squeeze');
