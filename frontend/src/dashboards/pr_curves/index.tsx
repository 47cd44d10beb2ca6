/** The PR Curves dashboard's entry point: `mount(el, api)`. */
import { mountDashboard } from '../../components/mountDashboard';
import { PrCurvesDashboard } from './Dashboard';
import './pr_curves.css';

export const mount = mountDashboard(PrCurvesDashboard);
