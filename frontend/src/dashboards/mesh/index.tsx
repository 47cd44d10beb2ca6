/** The Mesh dashboard's entry point: `mount(el, api)`. */
import { mountDashboard } from '../../components/mountDashboard';
import { MeshDashboard } from './Dashboard';
import './mesh.css';

export const mount = mountDashboard(MeshDashboard);
