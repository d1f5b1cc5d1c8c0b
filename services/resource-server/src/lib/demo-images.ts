// Small demo pictures drawn in code (no binary files in the repository): each seed photo gets its own
// 160x120 PNG so the client app visibly shows different images.
import { PNG } from 'pngjs';

export const WIDTH = 160;
export const HEIGHT = 120;

type Rgb = readonly [number, number, number];
type Painter = (x: number, y: number) => Rgb;

const mix = (a: Rgb, b: Rgb, t: number): Rgb =>
  [0, 1, 2].map((i) => Math.round(a[i]! + (b[i]! - a[i]!) * t)) as unknown as Rgb;
const inCircle = (x: number, y: number, cx: number, cy: number, r: number) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
const inEllipse = (x: number, y: number, cx: number, cy: number, rx: number, ry: number) =>
  ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1;
/** Inside the triangle with apex (ax, ay) and a base on the line y = baseY, half-width `half` at the base. */
const inPeak = (x: number, y: number, ax: number, ay: number, baseY: number, half: number) =>
  y >= ay && y <= baseY && Math.abs(x - ax) <= ((y - ay) / (baseY - ay)) * half;

const sunset: Painter = (x, y) => {
  const horizon = 80;
  if (y < horizon) {
    if (inCircle(x, y, 80, 78, 22)) return [255, 214, 110];
    return mix([255, 150, 70], [130, 50, 130], 1 - y / horizon);
  }
  // The sun's reflection: broken horizontal streaks on the water.
  if (Math.abs(x - 80) < 24 - (y - horizon) / 3 && y % 4 < 2) return [240, 170, 90];
  return mix([40, 50, 110], [15, 20, 60], (y - horizon) / (HEIGHT - horizon));
};

const catOnWindowsill: Painter = (x, y) => {
  const cat: Rgb = [35, 35, 40];
  if (inEllipse(x, y, 98, 78, 24, 13) || inCircle(x, y, 74, 64, 11)) return cat;
  if (inPeak(x, y, 67, 47, 58, 5) || inPeak(x, y, 81, 47, 58, 5)) return cat; // ears
  if (x >= 118 && x <= 123 && y >= 62 && y <= 88 && Math.abs(x - 120 - Math.sin(y / 4) * 2) < 3) return cat; // tail
  if (y >= 90 && y < 100 && x >= 8 && x < 152) return [150, 100, 60]; // windowsill
  if (x >= 20 && x < 140 && y >= 10 && y < 90) {
    if (Math.abs(x - 80) < 2 || Math.abs(y - 50) < 2) return [245, 245, 240]; // window bars
    return mix([120, 180, 235], [200, 230, 250], y / 90);
  }
  return [222, 210, 190];
};

const mountainTrail: Painter = (x, y) => {
  const trailCentre = 80 + Math.sin((HEIGHT - y) / 9) * 18 * ((HEIGHT - y) / 40);
  if (y > 85 && Math.abs(x - trailCentre) < 2 + (y - 85) / 5) return [170, 130, 80];
  if (y > 85) return mix([90, 150, 70], [50, 110, 45], (y - 85) / 35);
  for (const [ax, ay, half] of [
    [45, 22, 55],
    [112, 30, 60],
  ] as const) {
    if (inPeak(x, y, ax, ay, 86, half))
      return y < ay + 12 ? [250, 250, 252] : mix([120, 120, 135], [85, 90, 100], (y - ay) / 60);
  }
  return mix([170, 210, 245], [90, 150, 220], 1 - y / 86);
};

const workbench: Painter = (x, y) => {
  if (y >= 40 && y < 48 && x >= 30 && x < 90) return [120, 120, 125]; // hammer head
  if (y >= 48 && y < 95 && x >= 56 && x < 64) return [170, 110, 50]; // hammer handle
  if (x >= 105 && x < 112 && y >= 30 && y < 100) return [190, 190, 200]; // screwdriver shaft
  if (x >= 102 && x < 115 && y >= 70 && y < 100) return [210, 40, 40]; // screwdriver grip
  const grain = Math.sin(y / 3 + Math.sin(x / 17) * 2) * 0.5 + 0.5;
  return mix([150, 100, 55], [185, 135, 80], grain);
};

const blueprint: Painter = (x, y) => {
  const line: Rgb = [235, 240, 255];
  const wall = (x === 40 || x === 120) && y >= 55 && y <= 100;
  const floor = y === 100 && x >= 40 && x <= 120;
  const roof = y >= 25 && y <= 55 && Math.abs(Math.abs(x - 80) - ((y - 25) / 30) * 40) < 1;
  const door = ((x === 72 || x === 88) && y >= 75 && y <= 100) || (y === 75 && x >= 72 && x <= 88);
  if (wall || floor || roof || door) return line;
  if (x % 16 === 0 || y % 16 === 0) return [70, 110, 190];
  return [30, 70, 160];
};

export const PAINTERS = { sunset, catOnWindowsill, mountainTrail, workbench, blueprint } satisfies Record<
  string,
  Painter
>;
export type PictureName = keyof typeof PAINTERS;

/** Renders one picture as PNG bytes (deterministic: the same picture always yields the same bytes). */
export function renderPng(name: PictureName): Buffer {
  const png = new PNG({ width: WIDTH, height: HEIGHT });
  const paint = PAINTERS[name];
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const [r, g, b] = paint(x, y);
      const i = (y * WIDTH + x) * 4;
      png.data[i] = r;
      png.data[i + 1] = g;
      png.data[i + 2] = b;
      png.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}
