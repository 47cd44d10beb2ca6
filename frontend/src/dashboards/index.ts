/**
 * The dashboards, by plugin name (the word that names the plugin's Python folder and URL
 * segment). Adding one is a line here and a folder exporting `mount(el, api)`.
 */
import type { Mount } from '../core/dashboard';
import { mount as scalars } from './scalars';

export const DASHBOARDS: Record<string, () => Promise<Mount>> = {
  // Scalars is the first thing users look at: bundled with the shell, no extra round trip.
  scalars: () => Promise.resolve(scalars),
};

/** TensorBoard's tab order (tb:default.py), then any other plugin by name. */
export const TAB_ORDER = [
  'timeseries', 'scalars', 'custom_scalars', 'images', 'audio', 'graphs', 'distributions',
  'histograms', 'text', 'pr_curves', 'profile', 'hparams', 'mesh', 'projector',
];

export function orderPlugins(names: string[]): string[] {
  const rank = (name: string) => {
    const i = TAB_ORDER.indexOf(name);
    return i < 0 ? TAB_ORDER.length : i;
  };
  return [...names].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}
