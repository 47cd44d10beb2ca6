/** The Text dashboard's entry point: `mount(el, api)`. */
import { render } from 'preact';

import type { Mount } from '../../core/dashboard';
import { TextDashboard } from './Dashboard';
import './text.css';

export const mount: Mount = (el, api) => {
  render(<TextDashboard api={api} />, el);
  return () => render(null, el);
};
