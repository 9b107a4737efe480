// Draws one identity, with a photo's expression and outfit, onto a posed canvas: hair behind,
// neck and clothes, ears, face, features, beard, hair in front, glasses. Geometry is in face
// units with the face centre at (0, FACE_Y); the image spans −1…1 before the pose.
import { portableSinCos } from '../diffusion/random';
import { clampRgb, mixRgb, scaleRgb, type Identity, type Rgb } from './identity';
import { Canvas, latticeHash } from './raster';
import {
  box, capsule, circle, convexPolygon, ellipse, halfPlaneY, implicit, intersect, offset, outline, polyline, rotated, subtract, union,
  type Shape,
} from './sdf';

export interface Expression {
  /** −0.2 (corners down) … 1 (open grin) */
  smile: number;
  /** 0.5 … 1.1 */
  eyeOpen: number;
  /** brow lift in face units */
  browRaise: number;
  /** iris shift, −1 … 1 of its travel */
  gaze: number;
  /** head turn, −1 … 1: features shift sideways and the far ear hides */
  turn: number;
}

export type Neckline = 'crew' | 'vneck' | 'collar';
export interface Outfit {
  rgb: Rgb;
  neckline: Neckline;
}

export const FACE_Y = -0.06;
const WHITE: Rgb = [1, 1, 1];
const LINE: Rgb = [0.12, 0.08, 0.07];

interface HairShapes {
  back: Shape | null;
  front: Shape | null;
  /** darker strands (curl rings), shown only where hair is visible */
  detail: Shape[];
}

function faceShape(id: Identity): Shape {
  const { width: fw, height: fh, jaw, chin } = id.face;
  const cy = FACE_Y;
  return implicit({ x0: -fw, y0: cy - fh, x1: fw, y1: cy + fh }, (x, y) => {
    const dy = y - cy;
    const s = dy > 0 ? Math.min(dy / fh, 1.2) : 0;
    const rx = fw * Math.max(0.2, 1 - jaw * s * s);
    const p = x / rx;
    const q = dy / fh;
    const p2 = p * p;
    const q2 = q * q;
    const c = chin * Math.min(1, s * 2);
    return (1 - c) * (p2 + q2) + c * (p2 * p2 + q2 * q2) - 1;
  });
}

function headOuter(id: Identity, volume: number): Shape {
  const { width: fw, height: fh } = id.face;
  return ellipse(0, FACE_Y - fh * 0.1, fw * 1.07 + 0.035 * volume, fh * 0.98 + 0.045 * volume);
}

/** Where the face shows through the hair: the hairline is its top edge. */
function hairWindow(id: Identity, low: number): Shape {
  const { width: fw, height: fh } = id.face;
  return ellipse(id.hair.part * 0.035, FACE_Y + fh * 0.33, fw * 0.97, fh * (1 - 0.22 * low));
}

function hairShapes(id: Identity): HairShapes {
  const { width: fw, height: fh } = id.face;
  const cy = FACE_Y;
  const { style, volume: v, fringe, part } = id.hair;
  const side = part < 0 ? -1 : 1;
  const cap = (vol: number, low: number, sideburn: number) =>
    intersect(subtract(headOuter(id, vol), hairWindow(id, low)), halfPlaneY(cy + sideburn, 'above'));
  switch (style) {
    case 'bald':
      return { back: null, front: null, detail: [] };
    case 'short': {
      // a fringe swept towards the parting side, so short cuts differ by more than the hairline
      const sweep = intersect(ellipse(part * fw * 0.35, cy - fh * 0.62, fw * 0.62, 0.05 + 0.09 * fringe), headOuter(id, 0.3 * v));
      return { back: null, front: union(cap(0.3 * v, fringe * 0.6, 0.03), sweep), detail: [] };
    }
    case 'long': {
      const back = union(headOuter(id, v + 0.3), box(0, cy + fh * 0.55, fw * 1.12 + 0.05 * v, fh * 1.05, 0.12));
      const window = union(hairWindow(id, fringe), box(part * 0.035, cy + fh * 0.85, fw * 0.93, fh * 0.95, 0.05));
      return { back, front: subtract(back, window), detail: [] };
    }
    case 'bob': {
      const back = union(box(0, cy - fh * 0.06, fw * 1.15 + 0.04 * v, fh * 1.03, 0.24), headOuter(id, v));
      const bangs = box(0, cy + fh * 0.6, fw * 0.9, fh * (1.1 - 0.12 * fringe), 0.05);
      return { back, front: subtract(back, bangs), detail: [] };
    }
    case 'curly': {
      const a = fw * 1.12 + 0.06 * v;
      const b = fh * 0.98 + 0.05 * v;
      const ccy = cy - fh * 0.12;
      const r = 0.065 + 0.035 * v;
      const puffs: Shape[] = [ellipse(0, ccy, a, b)];
      const n = 18;
      for (let i = 0; i < n; i++) {
        const [s, c] = portableSinCos(i / n);
        puffs.push(circle(c * a, ccy + s * b, r));
      }
      const back = intersect(union(...puffs), halfPlaneY(cy + fh * 0.5, 'above'));
      const front = intersect(subtract(back, hairWindow(id, 0.4 + 0.5 * fringe)), halfPlaneY(cy + fh * 0.15, 'above'));
      const detail: Shape[] = [];
      for (const ring of [0.55, 0.8, 1.0]) {
        const m = Math.round(22 * ring);
        for (let i = 0; i < m; i++) {
          const [s, c] = portableSinCos((i + ring * 0.5) / m);
          const px = c * a * ring, py = ccy + s * b * ring;
          if (back.sd(px, py) < -0.01) detail.push(outline(circle(px, py, r * 0.45), 0.007));
        }
      }
      return { back, front, detail };
    }
    case 'ponytail': {
      const tail = rotated(ellipse(side * (fw * 1.02), cy + 0.16, 0.075 + 0.03 * v, 0.26), side * fw * 1.02, cy - 0.05, side * 0.035);
      const knot = circle(side * fw * 0.9, cy - fh * 0.6, 0.09 + 0.02 * v);
      return { back: union(tail, knot), front: cap(0.1 * v, fringe * 0.4, -0.02), detail: [] };
    }
    case 'bun': {
      const bun = circle(part * 0.04, cy - fh * 1.12, 0.12 + 0.04 * v);
      return { back: bun, front: cap(0.1 * v, fringe * 0.4, -0.02), detail: [outline(circle(part * 0.04, cy - fh * 1.12, 0.06 + 0.02 * v), 0.006)] };
    }
  }
}

/** Curve y(x) of the mouth at x, for lips and the closed mouth line. */
function mouthGeometry(id: Identity, expr: Expression, mx: number, my: number) {
  const w = id.mouth.width * (1 + 0.2 * Math.max(0, expr.smile));
  const bend = expr.smile * 0.045;
  const open = expr.smile > 0.5 ? (expr.smile - 0.5) * 0.07 : 0;
  const fu = id.mouth.fullness * 0.8;
  const fl = id.mouth.fullness * 1.2;
  const mid = (x: number) => {
    const t = (x - mx) / w;
    return my + bend * 0.3 - bend * t * t;
  };
  const band = (top: (x: number) => number, bottom: (x: number) => number, halfWidth: number): Shape => ({
    x0: mx - halfWidth, x1: mx + halfWidth, y0: my - 0.1, y1: my + 0.12,
    sd: (x, y) => Math.max(Math.abs(x - mx) - halfWidth, top(x) - y, y - bottom(x)),
  });
  const hump = (x: number) => {
    const t = (x - mx) / w;
    return Math.max(0, 1 - t * t);
  };
  const lips = band((x) => mid(x) - (fu + open * 0.3) * hump(x) - 0.003, (x) => mid(x) + (fl + open) * hump(x) + 0.003, w);
  const inner = open > 0 ? band((x) => mid(x) - open * 0.3 * hump(x), (x) => mid(x) + open * hump(x), w * 0.85) : null;
  const teeth = open > 0 ? band((x) => mid(x) - open * 0.3 * hump(x), (x) => mid(x) + open * 0.35 * hump(x), w * 0.8) : null;
  const linePoints: number[] = [];
  for (let i = 0; i <= 8; i++) {
    const x = mx - w + (2 * w * i) / 8;
    linePoints.push(x, mid(x));
  }
  return { w, lips, inner, teeth, line: polyline(linePoints, 0.0055) };
}

export function drawPortrait(canvas: Canvas, id: Identity, expr: Expression, outfit: Outfit): void {
  const { width: fw, height: fh } = id.face;
  const cy = FACE_Y;
  const skin = id.skin;
  const hair = hairShapes(id);
  const hairEdge = { amount: 0.25, width: 0.06 };

  if (hair.back) canvas.fill(hair.back, scaleRgb(id.hair.rgb, 0.82), { lit: true, edgeShade: hairEdge });

  // neck and clothes
  const shoulderTop = cy + fh + 0.13;
  canvas.fill(box(0, cy + fh + 0.15, fw * 0.42, 0.3, 0.05), scaleRgb(skin, 0.8), { lit: true });
  canvas.fill(ellipse(0, cy + fh * 0.92, fw * 0.5, 0.09), scaleRgb(skin, 0.55), { opacity: 0.35 });
  const neckHole =
    outfit.neckline === 'vneck'
      ? convexPolygon([-fw * 0.42, shoulderTop - 0.05, fw * 0.42, shoulderTop - 0.05, 0, shoulderTop + 0.2])
      : ellipse(0, shoulderTop, fw * 0.44, 0.07);
  canvas.fill(subtract(ellipse(0, shoulderTop + 0.42, 0.95, 0.42), neckHole), outfit.rgb, { lit: true, edgeShade: { amount: 0.2, width: 0.08 } });
  if (outfit.neckline === 'collar') {
    for (const s of [-1, 1]) {
      canvas.fill(convexPolygon([s * 0.02, shoulderTop + 0.06, s * fw * 0.5, shoulderTop - 0.04, s * fw * 0.42, shoulderTop + 0.1]), [0.95, 0.95, 0.93], { lit: true });
    }
  }

  // ears: the one on the side the head turns towards hides
  const eyeY = cy - 0.03 + id.eyes.height;
  for (const s of [-1, 1]) {
    const k = id.ears.size * (1 - 0.45 * s * expr.turn);
    const ex = s * (fw * 0.93 + 0.02 + 0.03 * id.ears.protrusion) - expr.turn * 0.02;
    const rx = 0.055 * k * (0.85 + 0.5 * id.ears.protrusion);
    const ry = 0.085 * k;
    canvas.fill(ellipse(ex, eyeY + 0.06, rx, ry), skin, { lit: true, edgeShade: { amount: 0.15, width: 0.03 } });
    canvas.fill(ellipse(ex + s * rx * 0.2, eyeY + 0.06, rx * 0.5, ry * 0.6), scaleRgb(skin, 0.78), { lit: true, opacity: 0.8 });
  }

  const face = faceShape(id);
  canvas.fill(face, skin, { lit: true, edgeShade: { amount: 0.2, width: 0.1 } });

  const fx = expr.turn * 0.05;
  if (id.hair.style === 'bald') canvas.fill(ellipse(-0.08 + fx, cy - fh * 0.72, 0.09, 0.045), WHITE, { opacity: 0.22 });

  // freckles and cheeks under everything else on the face
  for (const [dx, dy] of id.freckles) canvas.fill(circle(dx + fx, eyeY + dy, 0.009), scaleRgb(skin, 0.66), { opacity: 0.8 });
  const blush = Math.max(0, expr.smile) * 0.18 + (id.presentation === 'woman' ? 0.1 : 0);
  if (blush > 0) {
    for (const s of [-1, 1]) canvas.fill(ellipse(s * id.eyes.spacing * 1.15 + fx, eyeY + 0.11, 0.055, 0.035), [0.95, 0.45, 0.45], { opacity: blush });
  }

  // eyes
  const open = expr.eyeOpen * (1 - 0.3 * Math.max(0, expr.smile - 0.4));
  const size = id.eyes.size;
  for (const s of [-1, 1]) {
    const ex = s * id.eyes.spacing + fx;
    const rx = size;
    const ry = size * 0.62 * open;
    const white = ellipse(ex, eyeY, rx, ry);
    canvas.fill(white, [0.97, 0.96, 0.94]);
    const ix = ex + expr.gaze * size * 0.3 + expr.turn * size * 0.2;
    canvas.fill(intersect(circle(ix, eyeY, size * 0.56), white), id.eyes.rgb);
    canvas.fill(intersect(circle(ix, eyeY, size * 0.26), white), [0.03, 0.03, 0.04]);
    canvas.fill(circle(ix + size * 0.18, eyeY - size * 0.18, size * 0.13), WHITE, { opacity: 0.9 });
    const lid: number[] = [];
    for (let i = 0; i <= 8; i++) {
      const t = -1 + i / 4;
      lid.push(ex + t * rx * 1.04, eyeY - ry * Math.sqrt(Math.max(0, 1 - t * t)) * 1.02);
    }
    const lash = id.presentation === 'woman' ? 0.009 : 0.0065;
    canvas.fill(polyline(lid, lash), LINE);
    if (id.presentation === 'woman') canvas.fill(capsule(ex + s * rx * 1.02, eyeY - ry * 0.1, ex + s * rx * 1.3, eyeY - ry * 0.6 - 0.01, 0.006), LINE);
  }

  // brows
  const b = id.brows;
  const browY = eyeY - b.height - expr.browRaise;
  for (const s of [-1, 1]) {
    const inX = s * (id.eyes.spacing - size * 0.95) + fx;
    const outX = s * (id.eyes.spacing + size * 1.15) + fx;
    const inY = browY + b.angle * 0.035;
    const outY = browY - b.angle * 0.012;
    canvas.fill(polyline([inX, inY, (inX + outX) / 2, (inY + outY) / 2 - b.arch, outX, outY], b.thickness / 2 + 0.003), b.rgb);
  }

  // nose
  const nx = expr.turn * 0.07;
  const nb = eyeY + id.nose.length;
  const nw = id.nose.width;
  canvas.fill(capsule(nx + 0.012 - expr.turn * 0.02, eyeY + 0.03, nx + nw * 0.55, nb - nw * 0.2, 0.006), scaleRgb(skin, 0.72), { opacity: 0.55 });
  canvas.fill(ellipse(nx, nb - nw * 0.15, nw, nw * 0.55), scaleRgb(skin, 0.88), { opacity: 0.6, lit: true });
  for (const s of [-1, 1]) canvas.fill(ellipse(nx + s * nw * 0.5, nb + nw * 0.05, nw * 0.24, nw * 0.14), scaleRgb(skin, 0.5), { opacity: 0.85 });

  // beard under the mouth, moustache over it
  const mx = expr.turn * 0.055;
  const my = Math.max(nb + 0.065, cy + fh * 0.45);
  const mouth = mouthGeometry(id, expr, mx, my);
  const beardRgb = id.hair.color === 'blue' || id.hair.color === 'pink' || id.hair.style === 'bald' ? scaleRgb(id.brows.rgb, 1.1) : scaleRgb(id.hair.rgb, 0.9);
  if (id.beard !== 'none') {
    const top = nb + (id.beard === 'full' ? 0.035 : 0.025);
    const region = intersect(offset(face, id.beard === 'full' ? 0.015 : 0), implicit({ x0: -fw * 1.1, y0: top - 0.2, x1: fw * 1.1, y1: cy + fh + 0.1 }, (x, y) => {
      const t = x / fw;
      return top - 0.04 * t * t - y;
    }));
    if (id.beard === 'full') {
      canvas.fill(region, beardRgb, { lit: true, edgeShade: { amount: 0.2, width: 0.05 } });
    } else {
      const salt = id.seed % 1000003;
      canvas.fill(region, mixRgb(scaleRgb(skin, 0.55), beardRgb, 0.6), {
        opacity: 0.35,
        texture: (x, y) => (latticeHash(Math.floor(x * 110), Math.floor(y * 110), salt) > 0.5 ? 1 : 0.7),
      });
    }
  }
  if (mouth.inner && mouth.teeth) {
    canvas.fill(mouth.lips, id.mouth.lip, { lit: true });
    canvas.fill(mouth.inner, [0.3, 0.07, 0.08]);
    canvas.fill(mouth.teeth, [0.97, 0.96, 0.92]);
  } else {
    canvas.fill(mouth.lips, id.mouth.lip, { lit: true });
    canvas.fill(mouth.line, scaleRgb(id.mouth.lip, 0.5), { opacity: 0.9 });
  }
  if (id.beard === 'full') {
    const w = mouth.w;
    canvas.fill(polyline([mx - w * 1.1, my + 0.01, mx - w * 0.5, my - id.mouth.fullness - 0.012, mx + w * 0.5, my - id.mouth.fullness - 0.012, mx + w * 1.1, my + 0.01], 0.017), beardRgb, { lit: true });
  }

  // hair in front
  if (hair.front) {
    canvas.fill(hair.front, id.hair.rgb, { lit: true, edgeShade: hairEdge });
    const sheen = intersect(hair.front, outline(ellipse(-0.05, cy - fh * 0.3, fw * 0.8, fh * 0.62), 0.018), halfPlaneY(cy - fh * 0.55, 'above'));
    canvas.fill(sheen, clampRgb(mixRgb(id.hair.rgb, WHITE, 0.45)), { opacity: 0.4 });
  }
  if (hair.detail.length > 0) {
    const visible = union(...[hair.front, hair.back && subtract(hair.back, face)].filter((s): s is Shape => s !== null));
    for (const d of hair.detail) canvas.fill(intersect(d, visible), scaleRgb(id.hair.rgb, 0.62), { opacity: 0.8 });
  }

  // glasses on top of everything
  if (id.glasses !== 'none') {
    const frame = id.glassesRgb;
    const lensR = size * 1.55 + 0.012;
    const lensHW = size * 1.7 + 0.012;
    const lensHH = size * 1.25 + 0.012;
    const innerEdge: number[] = [];
    for (const s of [-1, 1]) {
      const ex = s * id.eyes.spacing + fx;
      const lens = id.glasses === 'round' ? circle(ex, eyeY + 0.008, lensR) : box(ex, eyeY + 0.008, lensHW, lensHH, 0.02);
      canvas.fill(lens, [0.85, 0.92, 1], { opacity: 0.14 });
      canvas.fill(outline(lens, 0.009), frame);
      const half = id.glasses === 'round' ? lensR : lensHW;
      innerEdge.push(ex - s * half);
      canvas.fill(capsule(ex + s * half, eyeY, s * (fw * 0.99) - expr.turn * 0.02, eyeY + 0.01, 0.007), frame);
    }
    canvas.fill(polyline([innerEdge[0], eyeY, (innerEdge[0] + innerEdge[1]) / 2, eyeY - 0.012, innerEdge[1], eyeY], 0.008), frame);
  }
}
