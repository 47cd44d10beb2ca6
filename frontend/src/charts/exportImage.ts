/**
 * A chart as a PNG file: its canvas (axes and lines as drawn, at the screen's pixel ratio) under
 * the card's title, with a legend of the lines' colours and names, on the card's background.
 */
import { saveBlob } from '../core/download';

export interface LegendEntry {
  name: string;
  color: string;
}

export interface ImageStyle {
  background: string;
  text: string;
  muted: string;
  font: string;
}

const PAD = 12;
const TITLE = 16;
const ROW = 16;
const SWATCH = 10;

/** Legend rows: entries laid out left to right, wrapping at `width`. */
export function legendLayout(
  names: readonly string[],
  width: number,
  measure: (text: string) => number,
): { x: number; row: number }[] {
  const out: { x: number; row: number }[] = [];
  let x = 0;
  let row = 0;
  for (const name of names) {
    const w = SWATCH + 6 + measure(name) + 16;
    if (x > 0 && x + w > width) {
      x = 0;
      row++;
    }
    out.push({ x, row });
    x += w;
  }
  return out;
}

export function renderChartImage(
  chart: HTMLCanvasElement,
  title: string,
  legend: readonly LegendEntry[],
  style: ImageStyle,
): HTMLCanvasElement {
  const ratio = chart.width / Math.max(1, chart.clientWidth || chart.width);
  const width = chart.width / ratio;
  const out = document.createElement('canvas');
  const ctx = out.getContext('2d');
  if (!ctx) throw new Error('This browser cannot draw images (no 2D canvas).');
  ctx.font = `12px ${style.font}`;
  const shown = legend.slice(0, 200);
  const places = legendLayout(
    shown.map((e) => e.name),
    width,
    (text) => ctx.measureText(text).width,
  );
  const rows = places.length ? places[places.length - 1]!.row + 1 : 0;
  const height = PAD + TITLE + 8 + chart.height / ratio + (rows ? 8 + rows * ROW : 0) + PAD;
  out.width = Math.round((width + 2 * PAD) * ratio);
  out.height = Math.round(height * ratio);
  ctx.scale(ratio, ratio);
  ctx.fillStyle = style.background;
  ctx.fillRect(0, 0, width + 2 * PAD, height);
  ctx.fillStyle = style.text;
  ctx.font = `600 14px ${style.font}`;
  ctx.textBaseline = 'top';
  ctx.fillText(title, PAD, PAD, width);
  const top = PAD + TITLE + 8;
  ctx.drawImage(chart, PAD, top, width, chart.height / ratio);
  ctx.font = `12px ${style.font}`;
  ctx.textBaseline = 'middle';
  const legendTop = top + chart.height / ratio + 8;
  shown.forEach((entry, i) => {
    const { x, row } = places[i]!;
    const y = legendTop + row * ROW + ROW / 2;
    ctx.fillStyle = entry.color;
    ctx.beginPath();
    ctx.arc(PAD + x + SWATCH / 2, y, SWATCH / 2, 0, 2 * Math.PI);
    ctx.fill();
    ctx.fillStyle = style.muted;
    ctx.fillText(entry.name, PAD + x + SWATCH + 6, y);
  });
  return out;
}

/** Save a canvas as a PNG download named `name`. */
export async function saveCanvas(canvas: HTMLCanvasElement, name: string): Promise<void> {
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
  if (!blob) throw new Error('The browser could not encode the image.');
  saveBlob(blob, name);
}
