/** The Distributions dashboard's entry point: `mount(el, api)`. */
import { mountDashboard } from '../../components/mountDashboard';
import { DistributionsDashboard } from './Dashboard';
import '../histograms/histograms.css';

export const mount = mountDashboard(DistributionsDashboard);
