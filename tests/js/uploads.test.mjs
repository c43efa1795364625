// Uploads through the official @stream-io/feeds-client (issue 18): a user
// uploads an image and a file as the client sends them (multipart forms),
// uses the image's URL as an activity attachment and reads it back, fetches
// the bytes from the returned URL, and deletes only what is theirs.

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';

import { startServer } from './lib/server.mjs';
import { connectClient, serverClient, uid } from './lib/helpers.mjs';

// A 1×1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==',
  'base64',
);

let server;
let sdk;
const clients = [];

before(async () => {
  server = await startServer();
  sdk = serverClient(server);
});

after(async () => {
  await server?.stop();
});

afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.disconnectUser()));
});

async function user(name) {
  const id = uid(name);
  await sdk.upsertUsers([{ id, name }]);
  const client = await connectClient(server, sdk, id);
  clients.push(client);
  return { id, client };
}

/** The StreamApiError a call fails with (its `code` and HTTP status). */
async function failure(call) {
  try {
    await call();
  } catch (err) {
    return { code: err.code, status: err.metadata?.response_code, message: err.message };
  }
  assert.fail('the call succeeded');
}

test('an uploaded image becomes an activity attachment that reads back and downloads', async () => {
  const { id, client } = await user('ann');
  const uploaded = await client.uploadImage({ file: new File([PNG], 'holiday.png', { type: 'image/png' }) });
  assert.ok(uploaded.duration);
  assert.ok(uploaded.file.startsWith(`${server.baseUrl}/uploads/`), uploaded.file);
  assert.equal(uploaded.thumb_url, uploaded.file);

  const fetched = await fetch(uploaded.file);
  assert.equal(fetched.status, 200);
  assert.equal(fetched.headers.get('content-type'), 'image/png');
  assert.deepEqual(Buffer.from(await fetched.arrayBuffer()), PNG);

  const feed = client.feed('user', id);
  await feed.getOrCreate({ watch: false });
  const { activity } = await client.addActivity({
    type: 'post',
    feeds: [feed.feed],
    text: 'look',
    attachments: [{ type: 'image', image_url: uploaded.file, thumb_url: uploaded.thumb_url }],
  });
  const { activity: read } = await client.getActivity({ id: activity.id });
  assert.equal(read.attachments.length, 1);
  assert.equal(read.attachments[0].image_url, uploaded.file);
  assert.equal(read.attachments[0].thumb_url, uploaded.thumb_url);

  // Deleting the activity leaves the file; deleting the image removes it.
  await client.deleteActivity({ id: activity.id, hard_delete: true });
  assert.equal((await fetch(uploaded.file)).status, 200);
  const deleted = await client.deleteImage({ url: uploaded.file });
  assert.ok(deleted.duration);
  assert.equal((await fetch(uploaded.file)).status, 404);
});

test('files are deleted only by their uploader; images are checked by their bytes', async () => {
  const { client: ann } = await user('ann');
  const { client: bob } = await user('bob');
  const file = await ann.uploadFile({ file: new File(['hello, world'], 'notes.txt', { type: 'text/plain' }) });
  assert.ok(file.file.endsWith('/notes.txt'), file.file);
  const fetched = await fetch(file.file);
  assert.equal(await fetched.text(), 'hello, world');
  assert.equal(fetched.headers.get('content-disposition'), 'attachment');

  const refused = await failure(() => bob.deleteFile({ url: file.file }));
  assert.equal(refused.status, 403, refused.message);
  assert.equal(refused.code, 17);
  await ann.deleteFile({ url: file.file });
  assert.equal((await fetch(file.file)).status, 404);

  const notImage = await failure(() =>
    ann.uploadImage({ file: new File(['plain text'], 'fake.png', { type: 'image/png' }) }),
  );
  assert.equal(notImage.status, 400, notImage.message);
  // upload_sizes makes resized variants; the thumbnail is the smallest.
  const sized = await ann.uploadImage({
    file: new File([PNG], 'p.png', { type: 'image/png' }),
    upload_sizes: [{ width: 10, height: 6, resize: 'scale' }],
  });
  assert.deepEqual(sized.upload_sizes, [{ width: 10, height: 6, resize: 'scale', crop: 'center' }]);
  const thumb = Buffer.from(await (await fetch(sized.thumb_url)).arrayBuffer());
  // The PNG's IHDR: width and height, big-endian, at bytes 16 and 20.
  assert.deepEqual([thumb.readUInt32BE(16), thumb.readUInt32BE(20)], [10, 6]);
  const resize = await failure(() =>
    ann.uploadImage({
      file: new File([PNG], 'p.png', { type: 'image/png' }),
      upload_sizes: [{ width: 10, height: 10, resize: 'stretch' }],
    }),
  );
  assert.equal(resize.status, 400, resize.message);
  assert.match(resize.message, /upload_sizes\[0\]\.resize/);
});
