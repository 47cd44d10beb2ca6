/** The Profile dashboard's entry point: `mount(el, api)`. */
import { mountDashboard } from '../../components/mountDashboard';
import { ProfileDashboard } from './Dashboard';
import './profile.css';

export const mount = mountDashboard(ProfileDashboard);
