/** The Text dashboard's entry point: `mount(el, api)`. */
import { mountDashboard } from '../../components/mountDashboard';
import { TextDashboard } from './Dashboard';
import './text.css';

export const mount = mountDashboard(TextDashboard);
