/** The Mesh dashboard's entry point: `mount(el, api)`. */
import { render } from 'preact';

import type { Mount } from '../../core/dashboard';
import { MeshDashboard } from './Dashboard';
import './mesh.css';

export const mount: Mount = (el, api) => {
  render(<MeshDashboard api={api} />, el);
  return () => render(null, el);
};
