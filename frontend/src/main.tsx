/** Entry point: build the app's state and render the shell. */
import { render } from 'preact';

import './styles.css';
import { App } from './shell/App';
import { createAppApi } from './shell/appApi';

const root = document.getElementById('app');
if (root) render(<App api={createAppApi()} />, root);
