/** The Time Series view's entry point: `mount(el, api)`. */
import { mountDashboard } from '../../components/mountDashboard';
import { TimeSeriesDashboard } from './Dashboard';
// The Images and Histograms cards' own styles (their dashboards load them in their own chunks).
import '../histograms/histograms.css';
import '../images/images.css';
import './timeseries.css';

export const mount = mountDashboard(TimeSeriesDashboard);
