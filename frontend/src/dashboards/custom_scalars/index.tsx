/** The Custom Scalars dashboard's entry point: `mount(el, api)`. */
import { mountDashboard } from '../../components/mountDashboard';
import { CustomScalarsDashboard } from './Dashboard';
import './custom_scalars.css';

export const mount = mountDashboard(CustomScalarsDashboard);
