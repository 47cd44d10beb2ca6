/** The Histograms dashboard's entry point: `mount(el, api)`. */
import { mountDashboard } from '../../components/mountDashboard';
import { HistogramsDashboard } from './Dashboard';
import './histograms.css';

export const mount = mountDashboard(HistogramsDashboard);
