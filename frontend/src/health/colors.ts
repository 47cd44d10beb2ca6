/**
 * The level colours (red, amber, blue), from the page's CSS variables so that light and dark
 * themes each get a readable set; read once per theme (the chart markers are drawn on canvas).
 */
import type { Level } from './model';

const FALLBACK: Record<Level, string> = { error: '#d32f2f', warning: '#e69100', info: '#1e88e5' };

let cached: { theme: string; colors: Record<Level, string> } | null = null;

/** The marker colour of `level` in the current theme. */
export function levelColor(level: Level): string {
  const theme = `${document.documentElement.dataset.theme ?? ''}`;
  if (!cached || cached.theme !== theme) {
    const style = getComputedStyle(document.documentElement);
    const read = (l: Level) => style.getPropertyValue(`--health-${l}`).trim() || FALLBACK[l];
    cached = { theme, colors: { error: read('error'), warning: read('warning'), info: read('info') } };
  }
  return cached.colors[level];
}
