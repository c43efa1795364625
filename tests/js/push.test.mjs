// Push preferences and devices through the official @stream-io/feeds-client
// (updatePushNotificationPreferences, createDevice, listDevices,
// deleteDevice), and a push reaching the bridge (TRIBUTARY_PUSH_WEBHOOK_URL)
// for the device the client registered. The feeds-client has no translate
// method; translation is tested in translation.test.mjs (node-sdk), tests/it and the Python
// SDK tests.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';

import { startServer } from './lib/server.mjs';
import { connectClient, serverClient, uid, waitFor } from './lib/helpers.mjs';

let server;
let sdk;
let receiver;
const pushes = [];

before(async () => {
  receiver = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      pushes.push({ raw, signature: req.headers['x-signature'], json: JSON.parse(raw.toString('utf8')) });
      res.end('ok');
    });
  });
  await new Promise((ok) => receiver.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${receiver.address().port}/push`;
  server = await startServer({ env: { TRIBUTARY_PUSH_WEBHOOK_URL: url } });
  sdk = serverClient(server);
});

after(async () => {
  await server?.stop();
  receiver?.close();
});

/** The StreamApiError a call fails with (its `code` and HTTP status). */
async function failure(call) {
  try {
    await call();
  } catch (err) {
    return { code: err.code, status: err.metadata?.response_code };
  }
  assert.fail('the call succeeded');
}

describe('push preferences and devices', () => {
  test('preferences round trip and are validated', async () => {
    const me = uid('pia');
    const client = await connectClient(server, sdk, me);
    try {
      const res = await client.updatePushNotificationPreferences({
        preferences: [{ feeds_level: 'all', feeds_preferences: { comment: 'none', follow: 'all' } }],
      });
      assert.equal(res.user_preferences[me].feeds_level, 'all');
      assert.equal(res.user_preferences[me].feeds_preferences.comment, 'none');
      assert.deepEqual(res.user_channel_preferences, {});

      const again = await client.updatePushNotificationPreferences({
        preferences: [{ feeds_preferences: { reaction: 'none' } }],
      });
      const prefs = again.user_preferences[me].feeds_preferences;
      assert.deepEqual([prefs.comment, prefs.follow, prefs.reaction], ['none', 'all', 'none']);

      const bad = await failure(() =>
        client.updatePushNotificationPreferences({ preferences: [{ feeds_level: 'loud' }] }),
      );
      assert.deepEqual(bad, { code: 4, status: 400 });
    } finally {
      await client.disconnectUser();
    }
  });

  test('device CRUD, and a reaction pushes to the registered device', async () => {
    const me = uid('dora');
    const other = uid('olaf');
    await sdk.upsertUsers([{ id: other }]);
    const client = await connectClient(server, sdk, me);
    try {
      await client.createDevice({ id: `${me}-token`, push_provider: 'firebase', push_provider_name: 'fcm' });
      let { devices } = await client.listDevices();
      assert.deepEqual(
        devices.map((d) => [d.id, d.user_id, d.push_provider, d.push_provider_name]),
        [[`${me}-token`, me, 'firebase', 'fcm']],
      );
      assert.ok(devices[0].created_at instanceof Date, 'created_at decodes as a date');
      // A new connection's `me` (the client's connected_user) carries the devices.
      const second = await connectClient(server, sdk, me);
      try {
        const connected = second.state.getLatestValue().connected_user;
        assert.deepEqual(connected.devices.map((d) => d.id), [`${me}-token`]);
      } finally {
        await second.disconnectUser();
      }
      const badProvider = await failure(() => client.createDevice({ id: 'x', push_provider: 'pigeon' }));
      assert.deepEqual(badProvider, { code: 4, status: 400 });

      const { activity } = await sdk.feeds.addActivity({
        type: 'post',
        feeds: [`user:${me}`],
        text: 'push me',
        user_id: me,
      });
      await sdk.feeds.addActivityReaction({ activity_id: activity.id, type: 'like', user_id: other });
      const push = await waitFor(
        () => pushes.find((p) => p.json.receiver?.id === me && p.json.push_type === 'reaction'),
        { timeout: 15_000, what: 'a reaction push', detail: () => JSON.stringify(pushes.map((p) => p.json)) },
      );
      const expected = createHmac('sha256', server.apiSecret).update(push.raw).digest('hex');
      assert.equal(push.signature, expected);
      assert.equal(push.json.type, 'push');
      assert.deepEqual(push.json.devices.map((d) => d.id), [`${me}-token`]);
      assert.equal(push.json.event.activity.id, activity.id);

      await client.deleteDevice({ id: `${me}-token` });
      ({ devices } = await client.listDevices());
      assert.deepEqual(devices, []);
      const gone = await failure(() => client.deleteDevice({ id: `${me}-token` }));
      assert.deepEqual(gone, { code: 16, status: 404 });
    } finally {
      await client.disconnectUser();
    }
  });
});
