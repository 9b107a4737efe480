import type { ShapeOnlyRule } from '../../types';
import { readTensorProto, type TensorProto } from '../../../onnx';
import { type Dim, isKnown } from '../../dims';
import { MAX_TRACKED, trackedInts } from '../../shapeTable';

// The shape is the input's contents; a small 1-D integer fill is tracked (shape arithmetic).
export const ConstantOfShape: ShapeOnlyRule = {
  opType: 'ConstantOfShape',
  noGradient: 'integer inputs only',
  inferShape: (ctx) => {
    const shape = ctx.inputValues(0);
    const shapeOfShape = ctx.inputShape(0);
    const valueT = ctx.attr<TensorProto>('value');
    const fill = valueT ? readTensorProto(valueT) : null;
    const outShape = shape ?? (shapeOfShape && isKnown(shapeOfShape[0]) ? Array(shapeOfShape[0]).fill(null) : null);
    let values: Dim[] | null = null;
    const n = shape ? shape[0] ?? 1 : null;
    if (shape && shape.length <= 1 && isKnown(n) && fill && n <= MAX_TRACKED) {
      const fillValue = trackedInts(fill);
      if (fillValue) values = Array(n).fill(fillValue[0]);
    }
    return ctx.oneOutput(fill ? fill.dtype : 'float32', outShape, values);
  },
};
