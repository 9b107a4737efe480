// A premultiplied RGBA float canvas that paints signed-distance shapes given in face units
// through a pose (rotation, scale, shift). Coverage is the analytic one-pixel ramp of the
// distance, so edges are anti-aliased without supersampling.
import { portableSinCos } from '../diffusion/random';
import type { Shape } from './sdf';
import type { Rgb } from './identity';

export interface Pose {
  /** rotation in turns (1 = 360°) */
  turns: number;
  scale: number;
  /** shift in image units (the image spans −1…1) */
  shiftX: number;
  shiftY: number;
}

/** Directional light in face space: brightness 1 + intensity·(p·dir)/reach, clamped. */
export interface Light {
  dirX: number;
  dirY: number;
  intensity: number;
}

export interface FillOptions {
  opacity?: number;
  /** shade by the canvas light */
  lit?: boolean;
  /** darken by `amount` within `width` face units of the shape's own edge (roundness) */
  edgeShade?: { amount: number; width: number };
  /** per-point coverage multiplier in [0, 1] (stubble, curls) */
  texture?: (x: number, y: number) => number;
}

const LIGHT_REACH = 0.6;

export class Canvas {
  readonly rgb: Float32Array;
  readonly alpha: Float32Array;
  /** pixel → face: x = ax·px + bx·py + cx, y = ay·px + by·py + cy (px, py at pixel centres) */
  private readonly ax: number; private readonly bx: number; private readonly cx: number;
  private readonly ay: number; private readonly by: number; private readonly cy: number;
  private readonly cos: number; private readonly sin: number;
  /** pixels per face unit */
  readonly pixelsPerUnit: number;

  constructor(readonly size: number, readonly pose: Pose, readonly light: Light) {
    this.rgb = new Float32Array(size * size * 3);
    this.alpha = new Float32Array(size * size);
    const t = pose.turns - Math.floor(pose.turns);
    const [sin, cos] = portableSinCos(t);
    this.cos = cos;
    this.sin = sin;
    const k = 2 / size;
    const s = pose.scale;
    // image u = k·(px + 0.5) − 1 − shiftX; face = R(−θ)·(u, v)/s
    const u0 = k * 0.5 - 1 - pose.shiftX;
    const v0 = k * 0.5 - 1 - pose.shiftY;
    this.ax = (cos * k) / s; this.bx = (sin * k) / s; this.cx = (cos * u0 + sin * v0) / s;
    this.ay = (-sin * k) / s; this.by = (cos * k) / s; this.cy = (-sin * u0 + cos * v0) / s;
    this.pixelsPerUnit = (size * s) / 2;
  }

  /** Face point → pixel coordinates (pixel centres at integer + 0.5). */
  toPixel(x: number, y: number): [number, number] {
    const s = this.pose.scale;
    const u = (this.cos * x - this.sin * y) * s + this.pose.shiftX;
    const v = (this.sin * x + this.cos * y) * s + this.pose.shiftY;
    return [((u + 1) * this.size) / 2, ((v + 1) * this.size) / 2];
  }

  fill(shape: Shape, color: Rgb, opts: FillOptions = {}): void {
    if (!(shape.x1 > shape.x0 && shape.y1 > shape.y0)) return;
    const size = this.size;
    const corners = [this.toPixel(shape.x0, shape.y0), this.toPixel(shape.x1, shape.y0), this.toPixel(shape.x0, shape.y1), this.toPixel(shape.x1, shape.y1)];
    const px0 = Math.max(0, Math.floor(Math.min(...corners.map((c) => c[0])) - 1));
    const py0 = Math.max(0, Math.floor(Math.min(...corners.map((c) => c[1])) - 1));
    const px1 = Math.min(size - 1, Math.floor(Math.max(...corners.map((c) => c[0])) + 1));
    const py1 = Math.min(size - 1, Math.floor(Math.max(...corners.map((c) => c[1])) + 1));
    const opacity = opts.opacity ?? 1;
    const ppu = this.pixelsPerUnit;
    const light = opts.lit ? this.light : null;
    const edge = opts.edgeShade;
    const texture = opts.texture;
    const [r, g, b] = color;
    const { rgb, alpha } = this;
    for (let py = py0; py <= py1; py++) {
      for (let px = px0; px <= px1; px++) {
        const x = this.ax * px + this.bx * py + this.cx;
        const y = this.ay * px + this.by * py + this.cy;
        const d = shape.sd(x, y);
        let cov = 0.5 - d * ppu;
        if (cov <= 0) continue;
        if (cov > 1) cov = 1;
        cov *= opacity;
        if (texture) cov *= texture(x, y);
        if (cov <= 0) continue;
        let shade = 1;
        if (light) {
          shade = 1 + (light.intensity * (x * light.dirX + y * light.dirY)) / LIGHT_REACH;
          shade = shade < 0.5 ? 0.5 : shade > 1.4 ? 1.4 : shade;
        }
        if (edge) {
          const t = 1 + d / edge.width;
          if (t > 0) shade *= 1 - edge.amount * (t > 1 ? 1 : t);
        }
        const i = py * size + px;
        const keep = 1 - cov;
        rgb[3 * i] = rgb[3 * i] * keep + r * shade * cov;
        rgb[3 * i + 1] = rgb[3 * i + 1] * keep + g * shade * cov;
        rgb[3 * i + 2] = rgb[3 * i + 2] * keep + b * shade * cov;
        alpha[i] = alpha[i] * keep + cov;
      }
    }
  }
}

/** Integer hash of a lattice point to [0, 1), for stubble and grain textures. */
export function latticeHash(ix: number, iy: number, salt: number): number {
  let h = Math.imul(ix | 0, 0x27d4eb2d) ^ Math.imul(iy | 0, 0x165667b1) ^ Math.imul(salt | 0, 0x9e3779b9);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}
