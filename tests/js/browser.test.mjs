// The official @stream-io/feeds-client in a real headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core): a static page served from a
// different origin than the API (another port, so every REST call is a CORS
// request and preflighted) connects with a token, watches its timeline and
// renders activity texts; a server-side post must show up in the DOM.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import esbuild from 'esbuild';
import { chromium } from 'playwright-core';

import { startServer } from './lib/server.mjs';
import { serverClient, uid } from './lib/helpers.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.TRIBUTARY_CHROMIUM || '/usr/bin/chromium';

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Tributary timeline</title></head>
<body data-status="loading">
<p id="status">loading</p>
<ul id="activities"></ul>
<script type="module" src="/page.js"></script>
</body></html>`;

let server;
let sdk;
let site; // { origin, close }
let browser;

async function serveSite(bundle) {
  const http = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    } else if (path === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(bundle);
    } else if (path === '/favicon.ico') {
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((ok) => http.listen(0, '127.0.0.1', ok));
  return {
    origin: `http://127.0.0.1:${http.address().port}`,
    close: () => new Promise((ok) => http.close(ok)),
  };
}

before(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (or set TRIBUTARY_CHROMIUM)`);
  }
  const built = await esbuild.build({
    entryPoints: [join(HERE, 'browser', 'page.mjs')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    write: false,
    logLevel: 'silent',
  });
  const [s, b] = await Promise.all([
    startServer(),
    chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] }),
  ]);
  server = s;
  browser = b;
  sdk = serverClient(server);
  site = await serveSite(built.outputFiles[0].text);
});

after(async () => {
  await browser?.close();
  await site?.close();
  await server?.stop();
});

test('a page on another origin renders a server-side post from its watched timeline', async () => {
  const me = uid('erin');
  const frank = uid('frank');
  await sdk.upsertUsers([
    { id: me, name: 'Erin' },
    { id: frank, name: 'Frank' },
  ]);
  await sdk.feeds.feed('user', frank).getOrCreate({ user_id: frank });
  await sdk.feeds.feed('timeline', me).getOrCreate({ user_id: me });
  await sdk.feeds.follow({ source: `timeline:${me}`, target: `user:${frank}` });
  await sdk.feeds.addActivity({ type: 'post', feeds: [`user:${frank}`], text: 'posted before the page', user_id: frank });

  const page = await browser.newPage();
  const problems = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
  const apiResponses = [];
  page.on('response', (r) => {
    if (r.url().startsWith(server.baseUrl)) apiResponses.push(r);
    if (r.status() >= 400) problems.push(`response: ${r.status()} ${r.request().method()} ${r.url()}`);
  });
  const detail = () => problems.join('\n') || '(no console errors or failed requests)';

  const token = sdk.generateUserToken({ user_id: me });
  const q = new URLSearchParams({ api_key: server.apiKey, token, base_url: server.baseUrl, user: me });
  assert.notEqual(site.origin, server.baseUrl);
  await page.goto(`${site.origin}/?${q}`);

  try {
    await page.waitForFunction(() => document.body.dataset.status !== 'loading' && document.body.dataset.status !== 'connecting', null, { timeout: 20_000 });
  } catch (err) {
    throw new Error(`page never left "connecting": ${err.message}\n${detail()}`);
  }
  const status = await page.evaluate(() => document.body.dataset.status);
  assert.equal(status, 'watching', detail());
  // the REST load went through CORS (preflight + actual request)
  await page.locator('#activities li', { hasText: 'posted before the page' }).waitFor({ timeout: 5000 });
  const cors = await Promise.all(apiResponses.map(async (r) => [r.request().method(), r.status(), await r.headerValue('access-control-allow-origin')]));
  assert.ok(cors.length > 0, 'the page called the API');
  for (const [method, code, acao] of cors) {
    assert.ok(acao === '*' || acao === site.origin, `${method} ${code} without Access-Control-Allow-Origin (${acao})`);
  }

  const { activity } = await sdk.feeds.addActivity({
    type: 'post',
    feeds: [`user:${frank}`],
    text: 'live from frank',
    user_id: frank,
  });
  try {
    await page.locator(`#activities li[data-id="${activity.id}"]`, { hasText: 'live from frank' }).waitFor({ timeout: 10_000 });
  } catch (err) {
    throw new Error(`the post never reached the DOM: ${err.message}\n${detail()}`);
  }
  const texts = await page.locator('#activities li').allTextContents();
  assert.deepEqual(texts, ['live from frank', 'posted before the page']);
  assert.deepEqual(problems, []);
  await page.close();
});
