/** The Audio dashboard's entry point: `mount(el, api)`. */
import { render } from 'preact';

import type { Mount } from '../../core/dashboard';
import { AudioDashboard } from './Dashboard';
import './audio.css';

export const mount: Mount = (el, api) => {
  render(<AudioDashboard api={api} />, el);
  return () => render(null, el);
};
