// The official @stream-io/feeds-client keeping a bell and a stories feed up
// to date from WebSocket events alone: a notification arriving moves the
// bell's `notification_status` (feeds.notification_feed.updated), and marking
// stories watched marks them in the client's state
// (feeds.stories_feed.updated). Writes go through the server-side node-sdk.

import { test, before, after, afterEach, describe } from 'node:test';
import assert from 'node:assert/strict';

import { startServer } from './lib/server.mjs';
import { connectClient, serverClient, uid, waitFor } from './lib/helpers.mjs';

// An aggregated feed's activity as the client state holds it: in its group
// (the flat list is empty unless the read asks for include_flat_activities).
const findInGroups = (feed, id) =>
  (feed.state.getLatestValue().aggregated_activities ?? []).flatMap((g) => g.activities).find((a) => a.id === id);

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

const eventsOf = (client) => () => `events seen by the client: ${client.events.join(', ') || '(none)'}`;

describe('notification and stories feeds in the feeds-client', () => {
  test('a notification arriving moves the bell from the event alone', async () => {
    const me = uid('erin');
    const frank = uid('frank');
    await sdk.upsertUsers([{ id: me }, { id: frank }]);
    const client = await connectClient(server, sdk, me);
    clients.push(client);
    const bell = client.feed('notification', me);
    await bell.getOrCreate({ watch: true });
    assert.equal(bell.state.getLatestValue().notification_status?.unread, 0);

    await sdk.feeds.addActivity({ type: 'like', feeds: [`notification:${me}`], user_id: frank });
    await waitFor(() => bell.state.getLatestValue().notification_status?.unread === 1, {
      what: 'unread 1',
      detail: eventsOf(client),
    });
    assert.equal(bell.state.getLatestValue().notification_status.unseen, 1);
  });

  test('marking a story watched marks it in the client state', async () => {
    const me = uid('erin');
    const frank = uid('frank');
    await sdk.upsertUsers([{ id: me }, { id: frank }]);
    await sdk.feeds.feed('story', frank).getOrCreate({ user_id: frank });
    await sdk.feeds.feed('stories', me).getOrCreate({ user_id: me });
    await sdk.feeds.follow({ source: `stories:${me}`, target: `story:${frank}` });
    const expires_at = new Date(Date.now() + 24 * 3600 * 1000).toISOString();
    const { activity } = await sdk.feeds.addActivity({
      type: 'story',
      feeds: [`story:${frank}`],
      user_id: frank,
      expires_at,
    });

    const client = await connectClient(server, sdk, me);
    clients.push(client);
    const stories = client.feed('stories', me);
    await stories.getOrCreate({ watch: true });
    const [group] = stories.state.getLatestValue().aggregated_activities;
    assert.equal(group.group, frank);
    assert.equal(group.is_watched, false);
    assert.equal(findInGroups(stories, activity.id)?.is_watched, false);

    await stories.markActivity({ mark_watched: [activity.id] });
    await waitFor(() => findInGroups(stories, activity.id)?.is_watched === true, {
      what: 'the story watched',
      detail: eventsOf(client),
    });
    const [watched] = stories.state.getLatestValue().aggregated_activities;
    assert.equal(watched.group, frank);
    assert.equal(watched.is_watched, true, "the author's ring is watched");
    assert.equal(watched.activities[0].is_watched, true);
  });
});
