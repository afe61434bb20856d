// The stand-in's REST API as Twilio's own clients call it (Basic auth with the demo account), for the desktop e2e.
const ACCOUNT = 'AC00000000000000000000000000000001';
const AUTH_TOKEN = 'demo-auth-token';
export const WORKSPACE = 'WS00000000000000000000000000000001';
export const WORKFLOW = 'WW00000000000000000000000000000001';
export const SYNC_SERVICE = 'IS00000000000000000000000000000001';

export class Sim {
  constructor(base) {
    this.base = base;
    this.auth = 'Basic ' + Buffer.from(`${ACCOUNT}:${AUTH_TOKEN}`).toString('base64');
  }

  async request(method, path, form) {
    const res = await fetch(`${this.base}/v1/Workspaces/${WORKSPACE}${path}`, {
      method,
      headers: { authorization: this.auth, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${JSON.stringify(json)}`);
    return json;
  }

  worker(sid) {
    return this.request('GET', `/Workers/${sid}`);
  }

  /** A task with the attributes the server's inbound webhook gives a customer's call (crates/server/src/inbound.rs). */
  createTask(attributes) {
    return this.request('POST', '/Tasks', { WorkflowSid: WORKFLOW, Attributes: JSON.stringify(attributes) });
  }

  /** A Sync Document of the demo service (the agent's presence Document is `presence.<identity>`); null if none. */
  async syncDocument(name) {
    const res = await fetch(`${this.base}/v1/Services/${SYNC_SERVICE}/Documents/${encodeURIComponent(name)}`, {
      headers: { authorization: this.auth },
    });
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`GET Document ${name} → ${res.status}`);
    return res.json();
  }

  async reservations(task) {
    return (await this.request('GET', `/Tasks/${task}/Reservations`)).reservations;
  }
}
