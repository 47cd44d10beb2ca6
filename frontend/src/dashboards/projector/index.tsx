/** The Embedding Projector's entry point: `mount(el, api)`. */
import { mountDashboard } from '../../components/mountDashboard';
import { ProjectorDashboard } from './Dashboard';
import './projector.css';

export const mount = mountDashboard(ProjectorDashboard);
