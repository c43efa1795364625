// Guests and anonymous users through the official @stream-io/feeds-client:
// connectGuest (POST /api/v2/guest, then the WebSocket as the guest),
// connectAnonymous (no token: reads of public and visible feeds only), user
// queries by role, a follow request to one's own `followers` feed, and the
// server's off switches for both.

import { test, before, after, afterEach, describe } from 'node:test';
import assert from 'node:assert/strict';

import { FeedsClient } from '@stream-io/feeds-client';
import { startServer } from './lib/server.mjs';
import { connectClient, serverClient, uid } from './lib/helpers.mjs';

let server;
let sdk;

before(async () => {
  server = await startServer();
  sdk = serverClient(server);
});

after(async () => {
  await server?.stop();
});

const clients = [];
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.disconnectUser()));
});

function newClient(srv = server) {
  const client = new FeedsClient(srv.apiKey, {
    base_url: srv.baseUrl,
    timeout: 10_000,
    configure_loggers_options: { default: { level: 'error' } },
  });
  clients.push(client);
  return client;
}

/** The StreamApiError a call fails with (its `code` and HTTP status). */
async function failure(call) {
  try {
    await call();
  } catch (err) {
    return { code: err.code, status: err.metadata?.response_code };
  }
  assert.fail('the call succeeded');
}

/** A feed of `owner` with `visibility`, holding one post. */
async function feedWithPost(visibility) {
  const owner = uid('olga');
  await sdk.upsertUsers([{ id: owner, name: 'Olga' }]);
  await sdk.feeds.feed('user', owner).getOrCreate({ user_id: owner, data: { visibility } });
  const { activity } = await sdk.feeds.addActivity({
    type: 'post',
    feeds: [`user:${owner}`],
    text: `a ${visibility} post by ${owner}`,
    user_id: owner,
  });
  return { owner, activity };
}

describe('guests', () => {
  test('connectGuest creates a guest and connects it over the WebSocket', async () => {
    const client = newClient();
    const wanted = uid('visitor');
    const response = await client.connectGuest({ user: { id: wanted, name: 'Visitor' } });
    assert.ok(response.user.id.includes(wanted), response.user.id);
    assert.equal(response.user.role, 'guest');
    assert.equal(typeof response.access_token, 'string');
    assert.ok(response.duration);
    const state = client.state.getLatestValue();
    assert.equal(state.connected_user?.id, response.user.id);
    assert.equal(state.connected_user?.role, 'guest');
    assert.equal(state.is_ws_connection_healthy, true);
    assert.equal(state.is_anonymous, false);
    // The guest acts as itself: its own feed, a post, a user query.
    const mine = client.feed('user', response.user.id);
    await mine.getOrCreate({ watch: true });
    const posted = await mine.addActivity({ type: 'post', text: 'hi from a guest' });
    assert.equal(posted.activity.user.id, response.user.id);
    const users = await client.queryUsers({ payload: { filter_conditions: { id: response.user.id } } });
    assert.deepEqual(
      users.users.map((u) => [u.id, u.role]),
      [[response.user.id, 'guest']],
    );
  });
});

describe('anonymous users', () => {
  test('read public and visible feeds and their activities', async () => {
    const open = await feedWithPost('public');
    const visible = await feedWithPost('visible');
    const client = newClient();
    await client.connectAnonymous();
    for (const { owner, activity } of [open, visible]) {
      const feed = client.feed('user', owner);
      await feed.getOrCreate();
      const shown = feed.state.getLatestValue().activities ?? [];
      assert.deepEqual(
        shown.map((a) => a.id),
        [activity.id],
      );
      const single = await client.getActivity({ id: activity.id });
      assert.equal(single.activity.text, activity.text);
    }
    await sdk.feeds.addComment({ object_id: open.activity.id, object_type: 'activity', comment: 'welcome', user_id: visible.owner });
    const thread = await client.getComments({ object_id: open.activity.id, object_type: 'activity' });
    assert.deepEqual(
      thread.comments.map((c) => c.text),
      ['welcome'],
    );
    const found = await client.queryActivities({ filter: { user_id: { $in: [open.owner, visible.owner] } } });
    assert.deepEqual(found.activities.map((a) => a.id).sort(), [open.activity.id, visible.activity.id].sort());
    const users = await client.queryUsers({ payload: { filter_conditions: { id: open.owner } } });
    assert.deepEqual(
      users.users.map((u) => u.id),
      [open.owner],
    );
  });

  test('read nothing else, and write nothing (403, code 17)', async () => {
    const closed = await feedWithPost('followers');
    const open = await feedWithPost('public');
    const client = newClient();
    await client.connectAnonymous();
    const refused = { code: 17, status: 403 };
    assert.deepEqual(await failure(() => client.feed('user', closed.owner).getOrCreate()), refused);
    assert.deepEqual(await failure(() => client.getActivity({ id: closed.activity.id })), refused);
    assert.deepEqual(
      await failure(() => client.getComments({ object_id: closed.activity.id, object_type: 'activity' })),
      refused,
    );
    const found = await client.queryActivities({ filter: { user_id: closed.owner } });
    assert.deepEqual(found.activities, []);
    // A feed that does not exist is not created for a visitor.
    assert.deepEqual(await failure(() => client.feed('user', uid('nobody')).getOrCreate()), refused);
    const feed = client.feed('user', open.owner);
    await feed.getOrCreate();
    assert.deepEqual(await failure(() => feed.addActivity({ type: 'post', text: 'spam' })), refused);
    assert.deepEqual(
      await failure(() => client.addActivityReaction({ activity_id: open.activity.id, type: 'like' })),
      refused,
    );
    assert.deepEqual(
      await failure(() => client.addComment({ object_id: open.activity.id, object_type: 'activity', comment: 'x' })),
      refused,
    );
  });
});

describe('user queries and follow requests', () => {
  test('queryUsers filters by role', async () => {
    const tag = uid('roles');
    const [admin, plain] = [`${tag}-admin`, `${tag}-plain`];
    await sdk.upsertUsers([
      { id: admin, name: 'Ada', role: 'admin' },
      { id: plain, name: 'Pim' },
    ]);
    const client = await connectClient(server, sdk, plain);
    clients.push(client);
    const query = (role) =>
      client.queryUsers({
        payload: { filter_conditions: { id: { $in: [admin, plain] }, role }, sort: [{ field: 'id', direction: 1 }] },
      });
    assert.deepEqual(
      (await query('admin')).users.map((u) => u.id),
      [admin],
    );
    assert.deepEqual(
      (await query({ $in: ['admin', 'user'] })).users.map((u) => u.id),
      [admin, plain],
    );
    const byName = await client.queryUsers({ payload: { filter_conditions: { id: { $in: [admin, plain] }, name: { $autocomplete: 'ad' } } } });
    assert.deepEqual(
      byName.users.map((u) => u.id),
      [admin],
    );
  });

  test("following one's own followers-only feed is a request the owner accepts", async () => {
    const me = uid('sara');
    await sdk.upsertUsers([{ id: me, name: 'Sara' }]);
    const client = await connectClient(server, sdk, me);
    clients.push(client);
    const sara = client.feed('user', uid('sara-feed'));
    await sara.getOrCreate({ data: { visibility: 'followers' } });
    const timeline = client.feed('timeline', uid('sara-timeline'));
    await timeline.getOrCreate();
    const request = await timeline.follow(sara.feed);
    assert.equal(request.follow.status, 'pending');
    const accepted = await client.acceptFollow({ source: timeline.feed, target: sara.feed, follower_role: 'feed_member' });
    assert.equal(accepted.follow.status, 'accepted');
  });
});

describe('switched off', () => {
  let closed;
  before(async () => {
    closed = await startServer({ env: { TRIBUTARY_ALLOW_GUESTS: 'false', TRIBUTARY_ALLOW_ANONYMOUS: 'false' } });
  });
  after(async () => {
    await closed?.stop();
  });

  test('guests and anonymous reads are refused (403, code 17)', async () => {
    const admin = serverClient(closed);
    const owner = uid('olga');
    await admin.upsertUsers([{ id: owner }]);
    await admin.feeds.feed('user', owner).getOrCreate({ user_id: owner, data: { visibility: 'public' } });
    const guest = newClient(closed);
    assert.deepEqual(await failure(() => guest.connectGuest({ user: { id: uid('visitor') } })), { code: 17, status: 403 });
    const anonymous = newClient(closed);
    await anonymous.connectAnonymous();
    assert.deepEqual(await failure(() => anonymous.feed('user', owner).getOrCreate()), { code: 17, status: 403 });
  });
});
