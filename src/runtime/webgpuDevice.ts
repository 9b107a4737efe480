// The GPU device onnxruntime-web runs its WebGPU graphs on. A device can be lost (a driver reset,
// the GPU process restarting, the OS reclaiming memory); onnxruntime-web keeps using it, so the
// worker has to hear of it and move the models to WASM itself.
import * as ort from 'onnxruntime-web/webgpu';

/** The part of GPUDevice used here (this project compiles without the WebGPU DOM types). */
interface LosableDevice {
  readonly lost: Promise<{ reason: string; message: string }>;
  destroy(): void;
}

const ortDevice = async (): Promise<LosableDevice> => (await ort.env.webgpu.device) as LosableDevice;

/** Calls `onLost` with a sentence once the device onnxruntime-web opened is lost. Call only after a WebGPU session exists. */
export async function watchWebgpuDevice(onLost: (why: string) => void): Promise<void> {
  const device = await ortDevice();
  void device.lost.then((info) => onLost(info.message ? `${info.reason}: ${info.message}` : info.reason));
}

/** Ends the device as a GPU reset would (the e2e's device-loss test). */
export async function destroyWebgpuDevice(): Promise<void> {
  (await ortDevice()).destroy();
}
