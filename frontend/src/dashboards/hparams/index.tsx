/** The HParams dashboard's entry point: `mount(el, api)`. */
import { render } from 'preact';

import type { Mount } from '../../core/dashboard';
import { HParamsDashboard } from './Dashboard';
import './hparams.css';

export const mount: Mount = (el, api) => {
  render(<HParamsDashboard api={api} />, el);
  return () => render(null, el);
};
