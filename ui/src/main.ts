import { mount } from 'svelte';
import App from './App.svelte';
import { CoreClient, loopbackTransport, tauriTransport } from './lib/core-client';
import { i18n } from './lib/i18n.svelte';
import './app.css';

const target = document.getElementById('app');
if (!target) throw new Error('index.html lost its #app element');

document.documentElement.lang = i18n.lang;
// In the app: Tauri IPC. In a browser: the app's loopback WebSocket, whose URL (with its token) is given as
// `?loopback=ws://127.0.0.1:<port>/?token=…`.
const loopback = new URLSearchParams(location.search).get('loopback');
const transport = '__TAURI_INTERNALS__' in window || !loopback ? tauriTransport() : loopbackTransport(loopback);
mount(App, { target, props: { client: new CoreClient(transport) } });
