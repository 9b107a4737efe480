import { useAppStore } from '../store';

const LABELS = { webgpu: 'WebGPU', wasm: 'WASM' } as const;

/** Which onnxruntime-web backend runs the models, and why when it is not WebGPU. */
export function BackendBadge() {
  const backend = useAppStore((s) => s.backend);
  const notice = useAppStore((s) => s.backendNotice);
  if (!backend) return null;
  return (
    <div className="backend">
      <span
        className={`badge badge-${backend}`}
        data-testid="backend"
        title={backend === 'webgpu' ? 'Models run on your GPU' : 'Models run on your CPU'}
      >
        {LABELS[backend]}
      </span>
      {notice && (
        <span className="backend-notice" data-testid="backend-notice">
          {notice}
        </span>
      )}
    </div>
  );
}
