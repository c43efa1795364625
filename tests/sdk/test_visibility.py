"""Activity visibility for user-token readers: private activities reach
only their author, tag-restricted ones arrive as previews, expired ones are
hidden from others; server-side calls see everything."""

from datetime import datetime, timedelta, timezone

from sdkhelpers import api_error, raw


def _setup(client, make_users):
    alice, bob = make_users("alice", "bob")
    client.feeds.follow(source=f"timeline:{bob}", target=f"user:{alice}")
    add = lambda **kw: client.feeds.add_activity(type="post", feeds=[f"user:{alice}"], user_id=alice, **kw).data.activity
    return alice, bob, add


def test_private_activities_reach_only_their_author(client, make_users, user_client):
    alice, bob, add = _setup(client, make_users)
    public = add(text="hello all")
    private = add(text="note to self", visibility="private")

    bob_view = user_client(bob)
    tl = bob_view.feeds.feed("timeline", bob).get_or_create().data.activities
    assert [a.id for a in tl] == [public.id]
    feed = bob_view.feeds.feed("user", alice).get_or_create().data.activities
    assert [a.id for a in feed] == [public.id]
    with api_error(404, 16):
        bob_view.feeds.get_activity(id=private.id)

    alice_view = user_client(alice)
    assert [a.id for a in alice_view.feeds.feed("user", alice).get_or_create().data.activities] == [private.id, public.id]
    assert alice_view.feeds.get_activity(id=private.id).data.activity.text == "note to self"
    # server-side sees everything
    assert [a.id for a in client.feeds.feed("timeline", bob).get_or_create(user_id=bob).data.activities] == [
        private.id, public.id]

    # making it public later shows it to bob too
    client.feeds.update_activity_partial(id=private.id, user_id=alice, set={"visibility": "public"})
    assert len(bob_view.feeds.feed("timeline", bob).get_or_create().data.activities) == 2


def test_tag_visibility_is_a_preview_for_others(client, make_users, user_client):
    alice, bob, add = _setup(client, make_users)
    premium = add(text="secret recipe", visibility="tag", visibility_tag="premium", custom={"price": 9},
                  attachments=[{"type": "image", "image_url": "https://example.com/a.png", "custom": {}}])
    seen = raw(user_client(bob).feeds.get_activity(id=premium.id))["activity"]
    assert seen["preview"] is True
    assert "text" not in seen and seen["attachments"] == [] and seen["custom"] == {}
    assert seen["visibility_tag"] == "premium"
    tl = raw(user_client(bob).feeds.feed("timeline", bob).get_or_create())["activities"]
    assert tl[0]["id"] == premium.id and tl[0]["preview"] is True
    own = raw(user_client(alice).feeds.get_activity(id=premium.id))["activity"]
    assert own["preview"] is False and own["text"] == "secret recipe"
    server = raw(client.feeds.get_activity(id=premium.id))["activity"]
    assert server["preview"] is False and server["custom"] == {"price": 9}


def test_expired_activities_are_hidden_from_others(client, make_users, user_client):
    alice, bob, add = _setup(client, make_users)
    past = (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()
    expired = add(text="gone", expires_at=past)
    live = add(text="here")
    assert [a.id for a in user_client(bob).feeds.feed("timeline", bob).get_or_create().data.activities] == [live.id]
    with api_error(404, 16):
        user_client(bob).feeds.get_activity(id=expired.id)
    assert user_client(alice).feeds.get_activity(id=expired.id).data.activity.id == expired.id
    assert client.feeds.get_activity(id=expired.id).data.activity.id == expired.id
