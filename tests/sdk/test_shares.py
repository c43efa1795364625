"""Reshares / replies via parent_id: `parent` enriched, `share_count`
maintained, query_activity_shares newest first."""

from sdkhelpers import api_error, raw, uid


def test_parent_share_count_and_shares(client, make_users):
    alice, bob, carol = make_users("alice", "bob", "carol")
    original = client.feeds.add_activity(type="post", feeds=[f"user:{alice}"], text="original", user_id=alice).data.activity
    r1 = client.feeds.add_activity(type="share", feeds=[f"user:{bob}"], parent_id=original.id, user_id=bob).data.activity
    r2 = client.feeds.add_activity(type="share", feeds=[f"user:{carol}"], parent_id=original.id, user_id=carol).data.activity

    share = raw(client.feeds.get_activity(id=r1.id))["activity"]
    assert share["parent"]["id"] == original.id and share["parent"]["text"] == "original"
    got = raw(client.feeds.get_activity(id=original.id))["activity"]
    assert got["share_count"] == 2 and got["popularity"] == 6

    page = client.feeds.query_activity_shares(activity_id=original.id, limit=1)
    assert [s.activity_id for s in page.data.shares] == [r2.id] and page.data.shares[0].user.id == carol
    rest = client.feeds.query_activity_shares(activity_id=original.id, limit=1, next=page.data.next)
    assert [s.activity_id for s in rest.data.shares] == [r1.id] and rest.data.next is None

    client.feeds.delete_activity(id=r2.id)
    assert raw(client.feeds.get_activity(id=original.id))["activity"]["share_count"] == 1


def test_shares_bad_input(client, make_users):
    alice = make_users("alice")
    with api_error(404, 16):
        client.feeds.query_activity_shares(activity_id=uid("missing"))
    with api_error(400, 4):
        client.feeds.add_activity(type="share", feeds=[f"user:{alice}"], parent_id=uid("missing"), user_id=alice)
