// Opens pages in headless Chromium at given widths, over the Chrome DevTools Protocol, and reports for
// each page and width: axe-core's violations, whether the page is wider than the window, and a
// full-page screenshot. Used by tests/test_register_browser.py; plain Node (20+, --experimental-websocket
// for the WebSocket client), no browser library: the protocol calls needed are few.
//
// usage: node --experimental-websocket browser_check.mjs CONFIG.json   (prints the results as JSON)
// CONFIG: {chromium, axe (path of axe.min.js), out (screenshot folder), profile (an empty folder for
//          Chromium's profile), widths: [375, 1280], pages: [{name, url}]}

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const axeSource = readFileSync(config.axe, 'utf8');
const MAX_SHOT_HEIGHT = config.max_height || 8000;
const TIMEOUT_MS = config.timeout_ms || 540_000;  // a loaded machine is slow; the caller's limit is longer

const { profile } = config;
const browser = spawn(config.chromium, [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--hide-scrollbars', `--user-data-dir=${profile}`,
  '--remote-debugging-port=0', 'about:blank',
], { stdio: 'ignore', detached: true });  // its own process group: ended whole below

const watchdog = setTimeout(() => finish(new Error('timed out')), TIMEOUT_MS);

function finish(error, results) {
  clearTimeout(watchdog);
  try {
    process.kill(-browser.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  if (error) {
    process.stderr.write(`browser_check: ${error.stack || error}\n`);
    process.exit(1);
  }
  process.stdout.write(JSON.stringify(results));
  process.exit(0);
}

async function devtoolsUrl() {
  const file = join(profile, 'DevToolsActivePort');
  for (let tries = 0; tries < 300; tries += 1) {
    if (existsSync(file)) {
      const [port, path] = readFileSync(file, 'utf8').split('\n');
      if (port && path) return `ws://127.0.0.1:${port}${path}`;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('Chromium did not open its DevTools port');
}

function connect(url) {
  const socket = new WebSocket(url);
  const pending = new Map();
  const listeners = [];
  let next = 1;
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.id && pending.has(message.id)) {
      const { resolve, reject } = pending.get(message.id);
      pending.delete(message.id);
      if (message.error) reject(new Error(`${message.error.message}`));
      else resolve(message.result);
    } else if (message.method) {
      for (const listener of listeners) listener(message);
    }
  };
  const send = (method, params = {}, sessionId = undefined) => new Promise((resolve, reject) => {
    const id = next++;
    pending.set(id, { resolve, reject });
    socket.send(JSON.stringify({ id, method, params, sessionId }));
  });
  const once = (method, sessionId) => new Promise((resolve) => {
    const listener = (message) => {
      if (message.method === method && message.sessionId === sessionId) {
        listeners.splice(listeners.indexOf(listener), 1);
        resolve(message.params);
      }
    };
    listeners.push(listener);
  });
  return new Promise((resolve, reject) => {
    socket.onopen = () => resolve({ send, once });
    socket.onerror = () => reject(new Error('cannot connect to Chromium'));
  });
}

async function evaluate(send, session, expression) {
  const answer = await send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, session);
  if (answer.exceptionDetails) throw new Error(`page script failed: ${answer.exceptionDetails.text}`);
  return answer.result.value;
}

const AXE_RUN = `axe.run(document, {resultTypes: ['violations']}).then((r) => r.violations.map((v) => ({
  id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' '))})))`;

async function checkPage(send, once, session, page, width) {
  await send('Emulation.setDeviceMetricsOverride',
    { width, height: 900, deviceScaleFactor: 1, mobile: width < 600 }, session);
  const loaded = once('Page.loadEventFired', session);
  await send('Page.navigate', { url: page.url }, session);
  await loaded;
  const layout = await evaluate(send, session,
    '({scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth})');
  const metrics = await send('Page.getLayoutMetrics', {}, session);
  const height = Math.min(Math.ceil(metrics.cssContentSize.height), MAX_SHOT_HEIGHT);
  const shot = await send('Page.captureScreenshot', {
    format: 'png', captureBeyondViewport: true, clip: { x: 0, y: 0, width, height, scale: 1 },
  }, session);
  const screenshot = join(config.out, `${page.name}-${width}.png`);
  writeFileSync(screenshot, Buffer.from(shot.data, 'base64'));
  await evaluate(send, session, `${axeSource}\n;true`);
  const violations = await evaluate(send, session, AXE_RUN);
  return { name: page.name, width, ...layout, screenshot, violations };
}

async function main() {
  const { send, once } = await connect(await devtoolsUrl());
  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  await send('Page.enable', {}, sessionId);
  // The pages forbid every script by policy; axe is the test's, not the page's, so it may run.
  await send('Page.setBypassCSP', { enabled: true }, sessionId);
  const results = [];
  for (const page of config.pages) {
    for (const width of config.widths) {
      process.stderr.write(`checking ${page.name} at ${width}px\n`);
      results.push(await checkPage(send, once, sessionId, page, width));
    }
  }
  return results;
}

main().then((results) => finish(null, results), (error) => finish(error));
