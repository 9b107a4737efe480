/** The ONNX opset every graph the project builds declares (the tiny pack's and a checkpoint's alike). */
export const OPSET = 17;
