/** The Health view's entry point: `mount(el, api)` (its tab is added by `health/api.ts`). */
import { mountDashboard } from '../../components/mountDashboard';
import { HealthDashboard } from './Dashboard';

export const mount = mountDashboard(HealthDashboard);
