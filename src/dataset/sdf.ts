// Signed-distance shapes in face units (negative inside) for the portrait rasterizer. Only
// + − × ÷, Math.sqrt/min/max/abs/floor decide a distance, so every JS engine computes the same
// pixels. Distances need only be accurate near an edge: the rasterizer turns them into
// anti-aliasing coverage over about one pixel.
import { portableSinCos } from '../diffusion/random';

export interface Shape {
  /** bounding box in face units; nothing outside it is inside the shape */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  sd(x: number, y: number): number;
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

export function circle(cx: number, cy: number, r: number): Shape {
  return {
    x0: cx - r, y0: cy - r, x1: cx + r, y1: cy + r,
    sd: (x, y) => {
      const dx = x - cx;
      const dy = y - cy;
      return Math.sqrt(dx * dx + dy * dy) - r;
    },
  };
}

/** Axis-aligned ellipse; the distance k(k−1)/|∇k| is exact for circles and first-order right near the edge. */
export function ellipse(cx: number, cy: number, rx: number, ry: number): Shape {
  const irx2 = 1 / (rx * rx);
  const iry2 = 1 / (ry * ry);
  const inner = -Math.min(rx, ry);
  return {
    x0: cx - rx, y0: cy - ry, x1: cx + rx, y1: cy + ry,
    sd: (x, y) => {
      const dx = x - cx;
      const dy = y - cy;
      const k = Math.sqrt(dx * dx * irx2 + dy * dy * iry2);
      const g = Math.sqrt(dx * dx * irx2 * irx2 + dy * dy * iry2 * iry2);
      return g > 1e-12 ? Math.max(inner, (k * (k - 1)) / g) : inner;
    },
  };
}

/** A line segment thickened to radius r (round caps). */
export function capsule(ax: number, ay: number, bx: number, by: number, r: number): Shape {
  const ex = bx - ax;
  const ey = by - ay;
  const len2 = ex * ex + ey * ey;
  return {
    x0: Math.min(ax, bx) - r, y0: Math.min(ay, by) - r, x1: Math.max(ax, bx) + r, y1: Math.max(ay, by) + r,
    sd: (x, y) => {
      const px = x - ax;
      const py = y - ay;
      const t = len2 > 0 ? clamp01((px * ex + py * ey) / len2) : 0;
      const dx = px - ex * t;
      const dy = py - ey * t;
      return Math.sqrt(dx * dx + dy * dy) - r;
    },
  };
}

/** Open polyline through `points` (flat [x0, y0, x1, y1, …]) thickened to radius r. */
export function polyline(points: readonly number[], r: number): Shape {
  const segs: Shape[] = [];
  for (let i = 0; i + 3 < points.length; i += 2) segs.push(capsule(points[i], points[i + 1], points[i + 2], points[i + 3], r));
  return union(...segs);
}

/** Box with half sizes hw, hh and corner radius rc (≤ min(hw, hh)). */
export function box(cx: number, cy: number, hw: number, hh: number, rc = 0): Shape {
  const ix = hw - rc;
  const iy = hh - rc;
  return {
    x0: cx - hw, y0: cy - hh, x1: cx + hw, y1: cy + hh,
    sd: (x, y) => {
      const qx = Math.abs(x - cx) - ix;
      const qy = Math.abs(y - cy) - iy;
      const ox = Math.max(qx, 0);
      const oy = Math.max(qy, 0);
      return Math.sqrt(ox * ox + oy * oy) + Math.min(Math.max(qx, qy), 0) - rc;
    },
  };
}

/** Convex polygon, vertices in either winding; the max of edge distances (exact along edges). */
export function convexPolygon(points: readonly number[]): Shape {
  const n = points.length / 2;
  let area = 0;
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    area += points[2 * i] * points[2 * j + 1] - points[2 * j] * points[2 * i + 1];
  }
  const sign = area > 0 ? 1 : -1;
  const edges: number[] = []; // nx, ny, c per edge: distance = nx*x + ny*y + c
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = 0; i < n; i++) {
    const ax = points[2 * i], ay = points[2 * i + 1];
    const j = (i + 1) % n;
    const bx = points[2 * j], by = points[2 * j + 1];
    const len = Math.sqrt((bx - ax) * (bx - ax) + (by - ay) * (by - ay));
    // outward normal for counter-clockwise (area > 0, y down) winding is (dy, −dx)
    const nx = (sign * (by - ay)) / len;
    const ny = (sign * -(bx - ax)) / len;
    edges.push(nx, ny, -(nx * ax + ny * ay));
    x0 = Math.min(x0, ax); y0 = Math.min(y0, ay); x1 = Math.max(x1, ax); y1 = Math.max(y1, ay);
  }
  return {
    x0, y0, x1, y1,
    sd: (x, y) => {
      let d = -Infinity;
      for (let i = 0; i < edges.length; i += 3) d = Math.max(d, edges[i] * x + edges[i + 1] * y + edges[i + 2]);
      return d;
    },
  };
}

/**
 * Shape from an implicit function f (f < 0 inside, roughly f ≈ 0 on the edge), with distance
 * f/|∇f| from a finite-difference gradient. `f` must be smooth near the edge.
 */
export function implicit(bounds: { x0: number; y0: number; x1: number; y1: number }, f: (x: number, y: number) => number): Shape {
  const h = 1e-4;
  return {
    ...bounds,
    sd: (x, y) => {
      const v = f(x, y);
      const gx = (f(x + h, y) - v) / h;
      const gy = (f(x, y + h) - v) / h;
      const g = Math.sqrt(gx * gx + gy * gy);
      return g > 1e-9 ? v / g : v;
    },
  };
}

export function union(...shapes: Shape[]): Shape {
  if (shapes.length === 1) return shapes[0];
  return {
    x0: Math.min(...shapes.map((s) => s.x0)), y0: Math.min(...shapes.map((s) => s.y0)),
    x1: Math.max(...shapes.map((s) => s.x1)), y1: Math.max(...shapes.map((s) => s.y1)),
    sd: (x, y) => {
      let d = Infinity;
      for (const s of shapes) {
        // shapes whose box is far away cannot win; skipping them keeps unions of many circles cheap
        if (x < s.x0 - 0.2 || x > s.x1 + 0.2 || y < s.y0 - 0.2 || y > s.y1 + 0.2) {
          d = Math.min(d, Math.max(s.x0 - x, x - s.x1, s.y0 - y, y - s.y1));
          continue;
        }
        d = Math.min(d, s.sd(x, y));
      }
      return d;
    },
  };
}

export function intersect(...shapes: Shape[]): Shape {
  return {
    x0: Math.max(...shapes.map((s) => s.x0)), y0: Math.max(...shapes.map((s) => s.y0)),
    x1: Math.min(...shapes.map((s) => s.x1)), y1: Math.min(...shapes.map((s) => s.y1)),
    sd: (x, y) => {
      let d = -Infinity;
      for (const s of shapes) d = Math.max(d, s.sd(x, y));
      return d;
    },
  };
}

/** `a` without `b`. */
export function subtract(a: Shape, b: Shape): Shape {
  return { x0: a.x0, y0: a.y0, x1: a.x1, y1: a.y1, sd: (x, y) => Math.max(a.sd(x, y), -b.sd(x, y)) };
}

/** The band of half-width w around the edge of `s` (frames, rims). */
export function outline(s: Shape, w: number): Shape {
  return { x0: s.x0 - w, y0: s.y0 - w, x1: s.x1 + w, y1: s.y1 + w, sd: (x, y) => Math.abs(s.sd(x, y)) - w };
}

/** `s` grown by r (negative r shrinks). */
export function offset(s: Shape, r: number): Shape {
  const g = Math.max(r, 0);
  return { x0: s.x0 - g, y0: s.y0 - g, x1: s.x1 + g, y1: s.y1 + g, sd: (x, y) => s.sd(x, y) - r };
}

/** Half-plane y < limit (above the line) or y > limit (below), for clipping. */
export function halfPlaneY(limit: number, keep: 'above' | 'below'): Shape {
  const far = 1e3;
  return keep === 'above'
    ? { x0: -far, y0: -far, x1: far, y1: limit, sd: (_x, y) => y - limit }
    : { x0: -far, y0: limit, x1: far, y1: far, sd: (_x, y) => limit - y };
}

/** `s` rotated by `turns` (fraction of a full turn, any sign) about (cx, cy). */
export function rotated(s: Shape, cx: number, cy: number, turns: number): Shape {
  const [sin, cos] = portableSinCos(turns - Math.floor(turns));
  // the rotated box's bound: the box's circumscribed square around its centre
  const hx = (s.x1 - s.x0) / 2, hy = (s.y1 - s.y0) / 2;
  const bx = (s.x0 + s.x1) / 2 - cx, by = (s.y0 + s.y1) / 2 - cy;
  const mx = cx + cos * bx - sin * by, my = cy + sin * bx + cos * by;
  const ext = Math.abs(cos) * Math.max(hx, hy) + Math.abs(sin) * Math.max(hx, hy);
  return {
    x0: mx - ext, y0: my - ext, x1: mx + ext, y1: my + ext,
    sd: (x, y) => {
      const dx = x - cx, dy = y - cy;
      return s.sd(cx + cos * dx + sin * dy, cy - sin * dx + cos * dy);
    },
  };
}
