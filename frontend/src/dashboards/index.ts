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

export { orderPlugins, TAB_ORDER } from './order';
