/** The Scalars dashboard's entry point: `mount(el, api)`. */
import { mountDashboard } from '../../components/mountDashboard';
import { ScalarsDashboard } from './Dashboard';

export const mount = mountDashboard(ScalarsDashboard);
