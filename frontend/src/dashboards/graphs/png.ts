/**
 * Download PNG: the whole graph (not just what is on screen) drawn from the SVG into a canvas.
 * The SVG is copied with its computed styles inlined (a standalone SVG image sees neither the
 * stylesheet nor its CSS variables), loaded as a blob: image (the CSP allows blob: images) and
 * painted on the theme's background.
 */
import type { Box } from './layout';

const STYLED = [
  'fill',
  'fill-opacity',
  'stroke',
  'stroke-width',
  'stroke-dasharray',
  'stroke-opacity',
  'opacity',
  'font-size',
  'font-family',
  'font-weight',
  'text-anchor',
] as const;

/** Largest side of the PNG in pixels (browsers refuse huge canvases). */
const MAX_SIDE = 8192;

function inlineStyles(source: Element, copy: Element): void {
  const computed = getComputedStyle(source);
  const style = STYLED.map((name) => `${name}:${computed.getPropertyValue(name)}`).join(';');
  copy.setAttribute('style', style);
  for (let i = 0; i < source.children.length; i++) {
    const child = copy.children[i];
    if (child) inlineStyles(source.children[i]!, child);
  }
}

/** A PNG of the scene inside `svg` (its `[data-testid=graph-scene]` group), `box` its extent. */
export async function graphPng(svg: SVGSVGElement, box: Box, background: string, scale = 2): Promise<Blob> {
  const scene = svg.querySelector('[data-testid=graph-scene]');
  if (!scene) throw new Error('nothing to draw');
  const pad = 16;
  const width = box.width + 2 * pad;
  const height = box.height + 2 * pad;
  const factor = Math.min(scale, MAX_SIDE / width, MAX_SIDE / height);
  const out = svg.cloneNode(false) as SVGSVGElement;
  out.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  out.setAttribute('width', String(Math.ceil(width * factor)));
  out.setAttribute('height', String(Math.ceil(height * factor)));
  out.setAttribute('viewBox', `${box.x - pad} ${box.y - pad} ${width} ${height}`);
  out.removeAttribute('class');
  out.removeAttribute('style');
  const defs = svg.querySelector('defs');
  if (defs) {
    const defsCopy = defs.cloneNode(true) as Element;
    inlineStyles(defs, defsCopy);
    out.appendChild(defsCopy);
  }
  const sceneCopy = scene.cloneNode(true) as Element;
  inlineStyles(scene, sceneCopy);
  sceneCopy.removeAttribute('transform');
  out.appendChild(sceneCopy);
  const text = new XMLSerializer().serializeToString(out);
  const url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
  try {
    const image = new Image();
    image.decoding = 'async';
    await new Promise<void>((resolve, reject) => {
      image.onload = () => resolve();
      image.onerror = () => reject(new Error('the graph could not be drawn as an image'));
      image.src = url;
    });
    const canvas = document.createElement('canvas');
    canvas.width = Math.ceil(width * factor);
    canvas.height = Math.ceil(height * factor);
    const context = canvas.getContext('2d');
    if (!context) throw new Error('no 2D canvas');
    context.fillStyle = background;
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    return await new Promise<Blob>((resolve, reject) =>
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('PNG encoding failed'))), 'image/png'),
    );
  } finally {
    URL.revokeObjectURL(url);
  }
}
