/** The Custom Scalars dashboard's entry point: `mount(el, api)`. */
import { render } from 'preact';

import type { Mount } from '../../core/dashboard';
import { CustomScalarsDashboard } from './Dashboard';
import './custom_scalars.css';

export const mount: Mount = (el, api) => {
  render(<CustomScalarsDashboard api={api} />, el);
  return () => render(null, el);
};
