import { reshapeRule } from './reshapeLike';

export const Reshape = reshapeRule('Reshape');
