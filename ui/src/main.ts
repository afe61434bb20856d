import { mount } from 'svelte';
import App from './App.svelte';
import { CoreClient, tauriTransport } from './lib/core-client';
import './app.css';

const target = document.getElementById('app');
if (!target) throw new Error('index.html lost its #app element');

mount(App, { target, props: { client: new CoreClient(tauriTransport()) } });
