/** The Images dashboard's entry point: `mount(el, api)`. */
import { mountDashboard } from '../../components/mountDashboard';
import { ImagesDashboard } from './Dashboard';
import './images.css';

export const mount = mountDashboard(ImagesDashboard);
