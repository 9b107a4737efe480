import { useEffect, useRef, type KeyboardEvent, type PointerEvent } from 'react';
import { moveCrop, zoomCrop, type SquareCrop } from '../../face/crop';
import { cropAtLevel, cropPercent, dragCrop, sameCrop, wheelZoomFactor, zoomLevel } from '../cropControls';
import { stepSectionId } from '../hooks/useFlow';
import { toImageData } from '../imageUtils';
import { cropAdvice } from '../packCropStart';
import { useAppStore, type SelfieState } from '../store';

const PREVIEW_SIZE = 112;
/** matches .crop-frame's max-height */
const FRAME_MAX_HEIGHT = 420;
const ZOOM_STEP = 1.15;

interface Gesture {
  /** the crop when the current gesture (re)started */
  start: SquareCrop;
  /** pointer positions when it (re)started, and now, by pointer id */
  origins: Map<number, { x: number; y: number }>;
  current: Map<number, { x: number; y: number }>;
  startDistance?: number;
}

function distance(points: Iterable<{ x: number; y: number }>): number | undefined {
  const [a, b] = [...points];
  return a && b ? Math.hypot(a.x - b.x, a.y - b.y) : undefined;
}

/** The photo with a square the person drags (mouse, touch, arrow keys) and zooms (wheel, pinch, slider, buttons). */
function CropEditor({ selfie }: { selfie: SelfieState }) {
  const setCrop = useAppStore((s) => s.setCrop);
  const busy = useAppStore((s) => s.task !== null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const previewRef = useRef<HTMLCanvasElement>(null);
  const frameRef = useRef<HTMLDivElement>(null);
  const gesture = useRef<Gesture | null>(null);
  const crop = selfie.current;
  const image = { width: selfie.width, height: selfie.height };

  // The photo is drawn once per selfie; the preview follows the crop.
  useEffect(() => {
    const ctx = canvasRef.current?.getContext('2d');
    if (ctx) ctx.putImageData(toImageData(selfie.rgba, selfie.width, selfie.height), 0, 0);
  }, [selfie.rgba, selfie.width, selfie.height]);

  useEffect(() => {
    const src = canvasRef.current;
    const ctx = previewRef.current?.getContext('2d');
    if (!src || !ctx) return;
    ctx.imageSmoothingQuality = 'high';
    ctx.clearRect(0, 0, PREVIEW_SIZE, PREVIEW_SIZE);
    ctx.drawImage(src, crop.x, crop.y, crop.size, crop.size, 0, 0, PREVIEW_SIZE, PREVIEW_SIZE);
  }, [crop.x, crop.y, crop.size, selfie.rgba]);

  // React's onWheel is passive, so it cannot stop the page from scrolling: listen directly.
  useEffect(() => {
    const frame = frameRef.current;
    if (!frame) return;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const s = useAppStore.getState().selfie;
      if (!s || useAppStore.getState().task !== null) return;
      useAppStore.getState().setCrop(zoomCrop(s.current, wheelZoomFactor(e.deltaY, e.deltaMode), s));
    };
    frame.addEventListener('wheel', onWheel, { passive: false });
    return () => frame.removeEventListener('wheel', onWheel);
  }, []);

  const shownWidth = () => frameRef.current?.getBoundingClientRect().width ?? selfie.width;

  /** Each change in the number of pointers restarts the gesture from the crop as it is now. */
  const restart = (g: Gesture) => {
    g.start = useAppStore.getState().selfie?.current ?? crop;
    g.origins = new Map(g.current);
    g.startDistance = distance(g.origins.values());
  };

  const onPointerDown = (e: PointerEvent<HTMLDivElement>) => {
    if (busy) return;
    e.currentTarget.setPointerCapture(e.pointerId);
    const g = gesture.current ?? { start: crop, origins: new Map(), current: new Map() };
    g.current.set(e.pointerId, { x: e.clientX, y: e.clientY });
    restart(g);
    gesture.current = g;
  };

  const onPointerMove = (e: PointerEvent<HTMLDivElement>) => {
    const g = gesture.current;
    const origin = g?.origins.get(e.pointerId);
    if (!g || !origin) return;
    g.current.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (g.current.size >= 2) {
      const d = distance(g.current.values());
      if (d && g.startDistance) setCrop(zoomCrop(g.start, d / g.startDistance, image));
      return;
    }
    setCrop(dragCrop(g.start, e.clientX - origin.x, e.clientY - origin.y, shownWidth(), image));
  };

  const endPointer = (e: PointerEvent<HTMLDivElement>) => {
    const g = gesture.current;
    if (!g) return;
    g.current.delete(e.pointerId);
    if (g.current.size === 0) gesture.current = null;
    else restart(g);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const step = Math.max(1, crop.size * (e.shiftKey ? 0.2 : 0.04));
    const moves: Record<string, [number, number]> = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[e.key]) {
      e.preventDefault();
      setCrop(moveCrop(crop, moves[e.key][0], moves[e.key][1], image));
    } else if (e.key === '+' || e.key === '=') {
      e.preventDefault();
      setCrop(zoomCrop(crop, ZOOM_STEP, image));
    } else if (e.key === '-' || e.key === '_') {
      e.preventDefault();
      setCrop(zoomCrop(crop, 1 / ZOOM_STEP, image));
    }
  };

  const box = cropPercent(crop, image);
  const level = zoomLevel(crop.size, image);
  const moved = !sameCrop(crop, selfie.crop);

  return (
    <div className="crop-editor">
      <div className="crop-stage">
        <div
          className="crop-frame"
          ref={frameRef}
          // Capped height (CSS) and capped width keep the aspect ratio of tall photos on wide screens.
          style={{ aspectRatio: `${selfie.width} / ${selfie.height}`, maxWidth: `${(FRAME_MAX_HEIGHT * selfie.width) / selfie.height}px` }}
          // Dragging anywhere on the photo moves the square, and a pinch anywhere zooms it.
          onPointerDown={onPointerDown}
          onPointerMove={onPointerMove}
          onPointerUp={endPointer}
          onPointerCancel={endPointer}
        >
          <canvas ref={canvasRef} width={selfie.width} height={selfie.height} className="crop-photo" aria-label="Your photo" role="img" />
          <div
            className="crop-box"
            data-testid="crop-box"
            role="group"
            aria-label="Face crop: drag or use the arrow keys to move it, + and − to zoom"
            tabIndex={0}
            style={{ left: `${box.left}%`, top: `${box.top}%`, width: `${box.width}%`, height: `${box.height}%` }}
            onKeyDown={onKeyDown}
          >
            <span className="crop-grid" aria-hidden="true" />
          </div>
        </div>
        <div className="crop-side">
          <canvas ref={previewRef} width={PREVIEW_SIZE} height={PREVIEW_SIZE} className="crop-preview" aria-label="What the model sees" role="img" />
          <span className="crop-preview-label">What the model sees</span>
        </div>
      </div>
      <div className="crop-controls">
        <button type="button" className="icon-button" aria-label="Zoom out" data-testid="crop-zoom-out" disabled={busy} onClick={() => setCrop(zoomCrop(crop, 1 / ZOOM_STEP, image))}>
          −
        </button>
        <input
          type="range"
          min={0}
          max={100}
          step={1}
          value={Math.round(level)}
          aria-label="Zoom"
          data-testid="crop-zoom"
          disabled={busy}
          onChange={(e) => setCrop(cropAtLevel(crop, Number(e.target.value), image))}
        />
        <button type="button" className="icon-button" aria-label="Zoom in" data-testid="crop-zoom-in" disabled={busy} onClick={() => setCrop(zoomCrop(crop, ZOOM_STEP, image))}>
          +
        </button>
        <button type="button" className="link-button" disabled={!moved || busy} onClick={() => setCrop(selfie.crop)}>
          Reset
        </button>
      </div>
    </div>
  );
}

/** Step 2: the crop, starting around the face the worker found (or a centre guess, with a notice). */
export function CropCard() {
  const selfie = useAppStore((s) => s.selfie);
  const confirm = useAppStore((s) => s.confirmCrop);
  const busy = useAppStore((s) => s.task !== null);
  const packCropMode = useAppStore((s) => s.pack.crop ?? 'face');
  return (
    <section className={`card step-card${selfie ? '' : ' step-card-locked'}`} id={stepSectionId('crop')} aria-labelledby="crop-title">
      <h2 id="crop-title" className="card-title">
        <span className="card-step">2</span> Crop your face
      </h2>
      {!selfie ? (
        <p className="locked-hint">Upload a photo first.</p>
      ) : (
        <>
          {selfie.notice ? (
            <p className="notice" role="status" data-testid="face-notice">
              {selfie.notice}
            </p>
          ) : (
            <p className="hint-line">
              Face found{selfie.faceScore > 0 ? ` (${Math.round(selfie.faceScore * 100)}% sure)` : ''}. Drag the square to move it; scroll, pinch or use
              the slider to zoom. {cropAdvice(packCropMode)}
            </p>
          )}
          <CropEditor selfie={selfie} />
          <button type="button" className={selfie.confirmed ? 'secondary' : 'primary'} data-testid="crop-confirm" disabled={busy} onClick={confirm}>
            {selfie.confirmed ? 'Crop confirmed ✓' : 'Use this crop'}
          </button>
        </>
      )}
    </section>
  );
}
