// A minimal W3C WebDriver client over fetch, enough to drive the Tauri app through tauri-driver.
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

export class WebDriver {
  constructor(base, sessionId) {
    this.base = base;
    this.sessionId = sessionId;
  }

  static async start(base, application, { attempts = 3 } = {}) {
    let last;
    for (let i = 0; i < attempts; i++) {
      const res = await request(base, 'POST', '/session', {
        capabilities: { alwaysMatch: { 'tauri:options': { application } } },
      }).catch((e) => e);
      if (!(res instanceof Error)) return new WebDriver(base, res.sessionId);
      last = res;
      await sleep(1000);
    }
    throw new Error(`could not start a WebDriver session for ${application}: ${last.message}`);
  }

  cmd(method, path, body) {
    return request(this.base, method, `/session/${this.sessionId}${path}`, body);
  }

  async find(css) {
    const el = await this.cmd('POST', '/element', { using: 'css selector', value: css });
    return el[ELEMENT];
  }

  async text(css) {
    return this.cmd('GET', `/element/${await this.find(css)}/text`);
  }

  async click(css) {
    await this.cmd('POST', `/element/${await this.find(css)}/click`, {});
  }

  execute(script, args = []) {
    return this.cmd('POST', '/execute/sync', { script, args });
  }

  executeAsync(script, args = []) {
    return this.cmd('POST', '/execute/async', { script, args });
  }

  async screenshot() {
    return Buffer.from(await this.cmd('GET', '/screenshot'), 'base64');
  }

  /** Polls `css`'s text until `predicate` holds; fails with the last text seen. */
  async waitForText(css, predicate, { timeoutMs = 10000, what = css } = {}) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
      last = await this.text(css).catch((e) => `<${e.message}>`);
      if (predicate(last)) return last;
      await sleep(100);
    }
    throw new Error(`${what}: gave up waiting; last text was ${JSON.stringify(last)}`);
  }

  quit() {
    return this.cmd('DELETE', '');
  }
}

async function request(base, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${JSON.stringify(json.value ?? json)}`);
  return json.value;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
