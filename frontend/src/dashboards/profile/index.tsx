/** The Profile dashboard's entry point: `mount(el, api)`. */
import { render } from 'preact';

import type { Mount } from '../../core/dashboard';
import { ProfileDashboard } from './Dashboard';
import './profile.css';

export const mount: Mount = (el, api) => {
  render(<ProfileDashboard api={api} />, el);
  return () => render(null, el);
};
