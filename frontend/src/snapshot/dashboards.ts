/**
 * The dashboards of a snapshot: the snapshot build of the app (`vite build --mode snapshot`)
 * uses this module in place of `dashboards/index.ts`, so the one script inlined into the page
 * holds these and nothing else (no three.js, elkjs or workers, which a page opened from a file
 * could not load anyway). The tabs of other plugins say they are not in the snapshot. Keep in
 * step with `DASHBOARDS` in `lumiboard/snapshot_collect.py`.
 */
import type { Mount } from '../core/dashboard';
import { mount as audio } from '../dashboards/audio';
import { mount as distributions } from '../dashboards/distributions';
import { mount as health } from '../dashboards/health';
import { mount as histograms } from '../dashboards/histograms';
import { mount as hparams } from '../dashboards/hparams';
import { mount as images } from '../dashboards/images';
import { mount as scalars } from '../dashboards/scalars';
import { mount as text } from '../dashboards/text';

export { orderPlugins, TAB_ORDER } from '../dashboards/order';

const mounts: Record<string, Mount> = { scalars, health, images, audio, distributions, histograms, text, hparams };

export const DASHBOARDS: Record<string, () => Promise<Mount>> = Object.fromEntries(
  Object.entries(mounts).map(([name, mount]) => [name, () => Promise.resolve(mount)]),
);
