/** The Embedding Projector's entry point: `mount(el, api)`. */
import { render } from 'preact';

import type { Mount } from '../../core/dashboard';
import { ProjectorDashboard } from './Dashboard';
import './projector.css';

export const mount: Mount = (el, api) => {
  render(<ProjectorDashboard api={api} />, el);
  return () => render(null, el);
};
