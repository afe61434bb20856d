import { mount } from 'svelte';
import App from './App.svelte';
import { CoreClient, tauriTransport } from './lib/core-client';
import { i18n } from './lib/i18n.svelte';
import './app.css';

const target = document.getElementById('app');
if (!target) throw new Error('index.html lost its #app element');

document.documentElement.lang = i18n.lang;
mount(App, { target, props: { client: new CoreClient(tauriTransport()) } });
