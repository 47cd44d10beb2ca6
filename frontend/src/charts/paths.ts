/** Path builders uPlot's own do not cover in mode 2 (one x array per line). */
import type uPlot from 'uplot';

/** The polygon between a band's lower and upper edges, split where either is missing. */
export function bandPath(
  u: uPlot,
  x: ArrayLike<number>,
  lo: ArrayLike<number>,
  hi: ArrayLike<number>,
  log: boolean,
): uPlot.Series.Paths {
  const fill = new Path2D();
  const ok = (i: number) =>
    Number.isFinite(lo[i]!) && Number.isFinite(hi[i]!) && (!log || lo[i]! > 0);
  const n = x.length;
  let i = 0;
  while (i < n) {
    while (i < n && !ok(i)) i++;
    const start = i;
    while (i < n && ok(i)) i++;
    if (i - start < 1) continue;
    fill.moveTo(u.valToPos(x[start]!, 'x', true), u.valToPos(hi[start]!, 'y', true));
    for (let k = start + 1; k < i; k++) {
      fill.lineTo(u.valToPos(x[k]!, 'x', true), u.valToPos(hi[k]!, 'y', true));
    }
    for (let k = i - 1; k >= start; k--) {
      fill.lineTo(u.valToPos(x[k]!, 'x', true), u.valToPos(lo[k]!, 'y', true));
    }
    fill.closePath();
  }
  return { stroke: new Path2D(), fill, clip: undefined, flags: 0 } as uPlot.Series.Paths;
}

/**
 * A dot (radius 3.5 CSS px) on every point: lines of one or two points would be invisible.
 * uPlot's points builder cannot be used in mode 2 (it expects mode 1's in-view indices).
 */
export function dotsPath(u: uPlot, x: ArrayLike<number>, y: ArrayLike<number | null>): uPlot.Series.Paths {
  const path = new Path2D();
  const r = 3.5 * devicePixelRatio;
  for (let i = 0; i < x.length; i++) {
    const v = y[i];
    if (v === null || v === undefined || !Number.isFinite(v)) continue;
    const px = u.valToPos(x[i]!, 'x', true);
    const py = u.valToPos(v, 'y', true);
    path.moveTo(px + r, py);
    path.arc(px, py, r, 0, 2 * Math.PI);
  }
  return { stroke: path, fill: path, clip: undefined, flags: 0 } as uPlot.Series.Paths;
}
