/** The HParams dashboard's entry point: `mount(el, api)`. */
import { mountDashboard } from '../../components/mountDashboard';
import { HParamsDashboard } from './Dashboard';
import './hparams.css';

export const mount = mountDashboard(HParamsDashboard);
