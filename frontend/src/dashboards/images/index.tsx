/** The Images dashboard's entry point: `mount(el, api)`. */
import { render } from 'preact';

import type { Mount } from '../../core/dashboard';
import { ImagesDashboard } from './Dashboard';
import './images.css';

export const mount: Mount = (el, api) => {
  render(<ImagesDashboard api={api} />, el);
  return () => render(null, el);
};
