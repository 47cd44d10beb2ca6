/** The Audio dashboard's entry point: `mount(el, api)`. */
import { mountDashboard } from '../../components/mountDashboard';
import { AudioDashboard } from './Dashboard';
import './audio.css';

export const mount = mountDashboard(AudioDashboard);
