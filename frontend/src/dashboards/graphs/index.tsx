/** The Graphs dashboard's entry point: `mount(el, api)`. */
import { mountDashboard } from '../../components/mountDashboard';
import { GraphsDashboard } from './Dashboard';
import './graphs.css';

export const mount = mountDashboard(GraphsDashboard);
