/** The Scalars dashboard's entry point: `mount(el, api)`. */
import { render } from 'preact';

import type { Mount } from '../../core/dashboard';
import { ScalarsDashboard } from './Dashboard';

export const mount: Mount = (el, api) => {
  render(<ScalarsDashboard api={api} />, el);
  return () => render(null, el);
};
