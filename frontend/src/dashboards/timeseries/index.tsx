/** The Time Series view's entry point: `mount(el, api)`. */
import { mountDashboard } from '../../components/mountDashboard';
import { TimeSeriesDashboard } from './Dashboard';
import './timeseries.css';

export const mount = mountDashboard(TimeSeriesDashboard);
