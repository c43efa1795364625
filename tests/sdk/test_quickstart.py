"""The README quick start, step by step, through the official SDK."""

from getstream.models import UserRequest

from sdkhelpers import raw, uid


def test_readme_quick_start(client):
    # 1. create users alice and bob (unique suffixes so the test can re-run)
    alice, bob = uid("alice"), uid("bob")
    users = client.update_users(users={
        alice: UserRequest(id=alice, name="Alice"),
        bob: UserRequest(id=bob, name="Bob"),
    }).data.users
    assert users[alice].name == "Alice" and users[bob].name == "Bob"

    # 2. get_or_create user:alice and timeline:bob
    alice_feed = client.feeds.feed("user", alice)
    bob_timeline = client.feeds.feed("timeline", bob)
    assert alice_feed.get_or_create(user_id=alice).data.created is True
    assert bob_timeline.get_or_create(user_id=bob).data.created is True

    # 3. bob's timeline follows alice's user feed
    follow = client.feeds.follow(
        source=bob_timeline.get_feed_identifier(),
        target=alice_feed.get_feed_identifier(),
    ).data.follow
    assert follow.status == "accepted"

    # 4. alice posts an activity
    activity = client.feeds.add_activity(
        type="post",
        feeds=[alice_feed.get_feed_identifier()],
        text="Hello from Alice",
        user_id=alice,
    ).data.activity

    # 5. bob's timeline returns it
    timeline = bob_timeline.get_or_create(user_id=bob)
    acts = timeline.data.activities
    assert [a.id for a in acts] == [activity.id]
    assert acts[0].text == "Hello from Alice"
    assert acts[0].user.id == alice
    assert isinstance(raw(timeline)["activities"][0]["created_at"], int)
