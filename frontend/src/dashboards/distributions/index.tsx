/** The Distributions dashboard's entry point: `mount(el, api)`. */
import { render } from 'preact';

import type { Mount } from '../../core/dashboard';
import { DistributionsDashboard } from './Dashboard';
import '../histograms/histograms.css';

export const mount: Mount = (el, api) => {
  render(<DistributionsDashboard api={api} />, el);
  return () => render(null, el);
};
