/** The Graphs dashboard's entry point: `mount(el, api)`. */
import { render } from 'preact';

import type { Mount } from '../../core/dashboard';
import { GraphsDashboard } from './Dashboard';
import './graphs.css';

export const mount: Mount = (el, api) => {
  render(<GraphsDashboard api={api} />, el);
  return () => render(null, el);
};
