import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatLoss, smoothLoss } from '../format';

const HEIGHT = 170;
const AXIS_FONT = '11px system-ui, sans-serif';
const X_LABEL = 'fine-tune step';
const Y_LABEL = 'loss (noise MSE)';

function cssVar(el: Element, name: string, fallback: string): string {
  return getComputedStyle(el).getPropertyValue(name).trim() || fallback;
}

// uPlot draws null as a gap: a non-finite loss shows as a hole, not a spike to infinity.
const finiteOrNull = (values: readonly number[]) => values.map((v) => (Number.isFinite(v) ? v : null));

/** Series: x = step, 1 = each step's loss, 2 = smoothed, 3/4 = top/bottom of the band. */
function chartData(losses: readonly number[]): uPlot.AlignedData {
  const steps = losses.map((_, i) => i + 1);
  const smooth = smoothLoss(losses);
  return [steps, finiteOrNull(losses), finiteOrNull(smooth.mean), finiteOrNull(smooth.high), finiteOrNull(smooth.low)];
}

/**
 * The fine-tune's denoising loss: each step as a faint dot (a random noise level per step, so
 * they jump), the smoothed loss as the line, and the band where most steps land.
 */
export function LossChart({ losses, steps }: { losses: readonly number[]; steps: number }) {
  const hostRef = useRef<HTMLDivElement>(null);
  const plotRef = useRef<uPlot | null>(null);

  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    const accent = cssVar(host, '--accent', '#6d5dfc');
    const muted = cssVar(host, '--muted', '#6b6880');
    const grid = cssVar(host, '--border', '#e2dfee');
    const band = cssVar(host, '--loss-band', 'rgb(109 93 252 / 18%)');
    const axis = { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: AXIS_FONT, labelFont: AXIS_FONT, labelSize: 16 };
    const edge = { stroke: 'transparent', width: 0, points: { show: false } };
    const plot = new uPlot(
      {
        width: Math.max(200, host.clientWidth),
        height: HEIGHT,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: false, range: (_u, min, max) => [1, Math.max(max, steps, min + 1)] } },
        axes: [
          // Steps are whole numbers: no tick at step 1.5.
          { ...axis, label: X_LABEL, size: 34, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] },
          { ...axis, label: Y_LABEL, size: 56 },
        ],
        series: [
          {},
          { label: 'each step', stroke: 'transparent', width: 0, points: { show: true, size: 4, fill: muted, stroke: muted } },
          { label: 'smoothed', stroke: accent, width: 2.5, points: { show: false } },
          { label: 'band top', ...edge },
          { label: 'band bottom', ...edge },
        ],
        bands: [{ series: [3, 4], fill: band }],
      },
      chartData([]),
      host,
    );
    plotRef.current = plot;
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(200, host.clientWidth), height: HEIGHT }));
    resize.observe(host);
    return () => {
      resize.disconnect();
      plot.destroy();
      plotRef.current = null;
    };
  }, [steps]);

  useEffect(() => {
    plotRef.current?.setData(chartData(losses));
  }, [losses, steps]);

  const last = losses.at(-1);
  const smoothed = smoothLoss(losses).mean.at(-1);
  return (
    <figure className="loss-chart" data-testid="loss-chart" data-points={losses.length}>
      <div ref={hostRef} className="loss-plot" role="img" aria-label={`Chart of ${Y_LABEL} against ${X_LABEL}, ${losses.length} of ${steps} steps`} />
      <figcaption>
        {losses.length === 0 ? (
          'The denoising loss appears here, one point per fine-tune step.'
        ) : (
          <>
            <span>
              Step {losses.length}: loss <strong>{last !== undefined ? formatLoss(last) : '–'}</strong> · smoothed{' '}
              <strong data-testid="loss-smoothed">{smoothed !== undefined && Number.isFinite(smoothed) ? formatLoss(smoothed) : '–'}</strong>
            </span>
            <span className="loss-legend" aria-hidden="true">
              <span className="legend-swatch legend-dot" /> each step
              <span className="legend-swatch legend-line" /> smoothed
              <span className="legend-swatch legend-band" /> spread
            </span>
            <span className="loss-guide" data-testid="loss-guide">
              A good run: the smoothed line stays level or drifts down inside its band. Single steps jump because each one draws a new
              noise level. A line that keeps climbing, or a stop on a NaN loss, means the learning rate is too high.
            </span>
          </>
        )}
      </figcaption>
    </figure>
  );
}
