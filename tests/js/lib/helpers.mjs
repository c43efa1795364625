// Shared helpers: the server-side node-sdk client, connected feeds-clients,
// unique ids and polling for client state.

import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { StreamClient } from '@stream-io/node-sdk';
import { FeedsClient } from '@stream-io/feeds-client';

// Node 20 has no global WebSocket; the feeds-client opens `new WebSocket(url)`.
globalThis.WebSocket ??= WebSocket;

export const uid = (name) => `${name}-${randomBytes(5).toString('hex')}`;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Server-side client (signed with the API secret) for the writes. */
export function serverClient(server) {
  return new StreamClient(server.apiKey, server.apiSecret, {
    basePath: server.baseUrl,
    timeout: 10_000,
  });
}

/** Polls `probe` until it returns a truthy value (returned) or fails after `timeout` ms. */
export async function waitFor(probe, { timeout = 5000, interval = 20, what = 'condition', detail } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = probe();
    if (last) return last;
    if (Date.now() > deadline) {
      const extra = detail ? `\n${typeof detail === 'function' ? detail() : detail}` : '';
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${extra}`);
    }
    await sleep(interval);
  }
}

/**
 * A FeedsClient connected as `userId`. `token` is a string or an async
 * provider; defaults to a provider handing out 1-hour tokens. `events` records
 * the type of every event the client dispatches (for failure messages).
 */
export async function connectClient(server, sdk, userId, { token } = {}) {
  const client = new FeedsClient(server.apiKey, {
    base_url: server.baseUrl,
    timeout: 10_000,
    configure_loggers_options: { default: { level: 'warn' } },
  });
  const events = [];
  client.on('all', (e) => events.push(e.type + (e.fid ? `@${e.fid}` : '')));
  const provider = token ?? (async () => sdk.generateUserToken({ user_id: userId }));
  await client.connectUser({ id: userId, name: userId }, provider);
  client.events = events;
  return client;
}

/** Accept every new activity the server announces (an app's feed of others' posts). */
export const acceptAll = () => 'add-to-start';

export const activities = (feed) => feed.state.getLatestValue().activities ?? [];

export const findActivity = (feed, id) => activities(feed).find((a) => a.id === id);
