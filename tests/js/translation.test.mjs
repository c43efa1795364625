// Translation: @stream-io/node-sdk's translateActivity against a tiny fake
// LibreTranslate started here (TRIBUTARY_TRANSLATION_URL), then reads. The
// feeds-client 2.2.0 has no translate method and its getActivity sends no
// `language`: it reads the stored `i18n` whole; node-sdk's getActivity
// passes `language`/`translate_text` and gets the projection.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';

import { startServer } from './lib/server.mjs';
import { connectClient, serverClient, uid } from './lib/helpers.mjs';

let server;
let sdk;
let provider;
const calls = [];

before(async () => {
  provider = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      calls.push({ path: req.url, body });
      const answer = { translatedText: `<${body.target}> ${body.q.toUpperCase()}`, detectedLanguage: { language: 'en' } };
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise((ok) => provider.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${provider.address().port}`;
  server = await startServer({ env: { TRIBUTARY_TRANSLATION_URL: url } });
  sdk = serverClient(server);
});

after(async () => {
  await server?.stop();
  provider?.close();
});

test('translateActivity through node-sdk, reads through feeds-client and node-sdk', async () => {
  const ann = uid('ann');
  await sdk.upsertUsers([{ id: ann, name: 'Ann' }]);
  const { activity } = await sdk.feeds.addActivity({ type: 'post', feeds: [`user:${ann}`], text: 'hello', user_id: ann });
  const fr = await sdk.feeds.translateActivity({ id: activity.id, language: 'fr' });
  assert.deepEqual(fr.activity.i18n, { fr_text: '<fr> HELLO', language: 'en' });
  await sdk.feeds.translateActivity({ id: activity.id, language: 'de' });
  assert.deepEqual(calls.map((c) => [c.path, c.body.target, c.body.q]), [
    ['/translate', 'fr', 'hello'],
    ['/translate', 'de', 'hello'],
  ]);

  const client = await connectClient(server, sdk, ann);
  try {
    const read = await client.getActivity({ id: activity.id });
    assert.equal(read.activity.text, 'hello');
    assert.deepEqual(read.activity.i18n, { fr_text: '<fr> HELLO', de_text: '<de> HELLO', language: 'en' });
  } finally {
    await client.disconnectUser();
  }

  const projected = await sdk.feeds.getActivity({ id: activity.id, language: 'de', translate_text: true });
  assert.equal(projected.activity.text, '<de> HELLO');
  assert.deepEqual(projected.activity.i18n, { de_text: '<de> HELLO', language: 'en' });
  assert.equal(calls.length, 2, 'reads call no provider');
});
