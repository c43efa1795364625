// The browser page's script (bundled with esbuild by browser.test.mjs):
// connects the official feeds-client with the token and base_url from the
// page URL, watches the user's timeline and renders activity texts.

import { FeedsClient } from '@stream-io/feeds-client';

const params = new URLSearchParams(location.search);
const status = document.getElementById('status');
const list = document.getElementById('activities');

const setStatus = (s) => {
  status.textContent = s;
  document.body.dataset.status = s;
};

async function main() {
  const user = params.get('user');
  const client = new FeedsClient(params.get('api_key'), {
    base_url: params.get('base_url'),
    timeout: 10000,
  });
  setStatus('connecting');
  await client.connectUser({ id: user, name: user }, params.get('token'));
  const timeline = client.feed('timeline', user, {
    // an app showing others' posts as they arrive
    onNewActivity: () => 'add-to-start',
  });
  timeline.state.subscribeWithSelector(
    (s) => ({ activities: s.activities }),
    ({ activities = [] }) => {
      list.replaceChildren(
        ...activities.map((a) => {
          const li = document.createElement('li');
          li.dataset.id = a.id;
          li.textContent = a.text ?? '';
          return li;
        }),
      );
    },
  );
  await timeline.getOrCreate({ watch: true });
  window.feedsClient = client;
  setStatus('watching');
}

main().catch((err) => {
  console.error(err);
  setStatus('error: ' + (err && err.message ? err.message : String(err)));
});
