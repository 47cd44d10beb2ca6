/** The PR Curves dashboard's entry point: `mount(el, api)`. */
import { render } from 'preact';

import type { Mount } from '../../core/dashboard';
import { PrCurvesDashboard } from './Dashboard';
import './pr_curves.css';

export const mount: Mount = (el, api) => {
  render(<PrCurvesDashboard api={api} />, el);
  return () => render(null, el);
};
