import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatLoss, lossTrend } from '../format';

const HEIGHT = 150;

function cssVar(el: Element, name: string, fallback: string): string {
  return getComputedStyle(el).getPropertyValue(name).trim() || fallback;
}

function chartData(losses: readonly number[]): uPlot.AlignedData {
  const steps = losses.map((_, i) => i + 1);
  // uPlot draws null as a gap: a non-finite loss shows as a hole, not a spike to infinity.
  const raw = losses.map((l) => (Number.isFinite(l) ? l : null));
  const trend = lossTrend(losses).map((l) => (Number.isFinite(l) ? l : null));
  return [steps, raw, trend];
}

/** The fine-tune's denoising loss per step (uPlot), with its moving average. */
export function LossChart({ losses, steps }: { losses: readonly number[]; steps: number }) {
  const hostRef = useRef<HTMLDivElement>(null);
  const plotRef = useRef<uPlot | null>(null);

  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    const accent = cssVar(host, '--accent', '#6d5dfc');
    const accent2 = cssVar(host, '--accent-2', '#ff6fa8');
    const muted = cssVar(host, '--muted', '#6b6880');
    const grid = cssVar(host, '--border', '#e2dfee');
    const axis = { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: '11px system-ui, sans-serif' };
    const plot = new uPlot(
      {
        width: Math.max(200, host.clientWidth),
        height: HEIGHT,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: false, range: (_u, min, max) => [1, Math.max(max, steps, min + 1)] } },
        axes: [
          // Steps are whole numbers: no tick at step 1.5.
          { ...axis, label: 'step', labelSize: 16, labelFont: '11px system-ui, sans-serif', size: 30, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] },
          { ...axis, size: 52 },
        ],
        series: [
          {},
          { label: 'loss', stroke: accent, width: 1.5, points: { show: true, size: 4, fill: accent } },
          { label: 'trend', stroke: accent2, width: 2, dash: [6, 4], points: { show: false } },
        ],
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
  return (
    <figure className="loss-chart" data-testid="loss-chart" data-points={losses.length}>
      <div ref={hostRef} className="loss-plot" role="img" aria-label={`Fine-tune loss over ${losses.length} steps`} />
      <figcaption>
        {losses.length === 0 ? (
          'The denoising loss appears here, one point per fine-tune step.'
        ) : (
          <>
            Loss at step {losses.length}: <strong>{last !== undefined ? formatLoss(last) : '–'}</strong>
            <span className="legend-swatch legend-trend" aria-hidden="true" /> trend
          </>
        )}
      </figcaption>
    </figure>
  );
}
