/**
 * The dashboards, by plugin name (the word that names the plugin's Python folder and URL
 * segment). Adding one is a folder `dashboards/<plugin>/` whose `index.tsx` exports
 * `mount(el, api)`: it is found here and loaded (as its own chunk) when its tab is opened.
 */
import type { Mount } from '../core/dashboard';
import { mount as scalars } from './scalars';

const lazy = import.meta.glob<Mount>(['./*/index.tsx', '!./scalars/index.tsx'], { import: 'mount' });

function pluginOf(path: string): string {
  return path.slice(2, path.length - '/index.tsx'.length);
}

export const DASHBOARDS: Record<string, () => Promise<Mount>> = {
  ...Object.fromEntries(Object.entries(lazy).map(([path, load]) => [pluginOf(path), load])),
  // Scalars is the first thing users look at: bundled with the shell, no extra round trip.
  scalars: () => Promise.resolve(scalars),
};

/**
 * TensorBoard's tab order (tb:default.py), then any other plugin by name. Health (the flags
 * from `data/health`, not a TensorBoard plugin) comes right after Scalars.
 */
export const TAB_ORDER = [
  'timeseries', 'scalars', 'health', 'custom_scalars', 'images', 'audio', 'graphs', 'distributions',
  'histograms', 'text', 'pr_curves', 'profile', 'hparams', 'mesh', 'projector',
];

export function orderPlugins(names: string[]): string[] {
  const rank = (name: string) => {
    const i = TAB_ORDER.indexOf(name);
    return i < 0 ? TAB_ORDER.length : i;
  };
  return [...names].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}
