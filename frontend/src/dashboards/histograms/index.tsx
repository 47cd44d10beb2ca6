/** The Histograms dashboard's entry point: `mount(el, api)`. */
import { render } from 'preact';

import type { Mount } from '../../core/dashboard';
import { HistogramsDashboard } from './Dashboard';
import './histograms.css';

export const mount: Mount = (el, api) => {
  render(<HistogramsDashboard api={api} />, el);
  return () => render(null, el);
};
