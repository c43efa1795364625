"""Batch activity writes through the SDK: delete_activities and
update_activities_partial_batch."""

from getstream.models import UpdateActivityPartialChangeRequest

from sdkhelpers import api_error, raw, uid


def _posts(client, author, n):
    return [
        client.feeds.add_activity(type="post", feeds=[f"user:{author}"], text=f"post {i}", user_id=author).data.activity
        for i in range(n)
    ]


def _feed_ids(client, author):
    return [a.id for a in client.feeds.feed("user", author).get_or_create(user_id=author).data.activities]


def test_delete_activities_soft_and_hard(client, make_users):
    alice = make_users("alice")
    a, b, c = _posts(client, alice, 3)
    missing = uid("missing")
    resp = client.feeds.delete_activities(ids=[a.id, b.id, missing])
    assert sorted(resp.data.deleted_ids) == sorted([a.id, b.id])
    assert _feed_ids(client, alice) == [c.id]
    with api_error(404, 16):
        client.feeds.get_activity(id=a.id)
    # soft-deleted ones can come back; hard-deleted ones cannot
    client.feeds.restore_activity(id=a.id, user_id=alice)
    assert sorted(_feed_ids(client, alice)) == sorted([a.id, c.id])
    hard = client.feeds.delete_activities(ids=[a.id, b.id], hard_delete=True)
    assert sorted(hard.data.deleted_ids) == sorted([a.id, b.id])
    with api_error(404, 16):
        client.feeds.restore_activity(id=b.id, user_id=alice)


def test_delete_activities_bad_input(client):
    with api_error(400, 4):
        client.feeds.delete_activities(ids=[])
    with api_error(400, 4):
        client.feeds.delete_activities(ids=[uid("x") for _ in range(101)])


def test_update_activities_partial_batch(client, make_users):
    alice = make_users("alice")
    a, b = _posts(client, alice, 2)
    client.feeds.update_activity_partial(id=b.id, user_id=alice, set={"custom": {"keep": 1, "color": "red"}})
    resp = client.feeds.update_activities_partial_batch(changes=[
        UpdateActivityPartialChangeRequest(activity_id=a.id, set={"text": "edited", "filter_tags": ["x"]}),
        UpdateActivityPartialChangeRequest(activity_id=b.id, set={"custom.color": "blue"}),
        UpdateActivityPartialChangeRequest(activity_id=uid("missing"), set={"text": "ignored"}),
    ])
    got = {x["id"]: x for x in raw(resp)["activities"]}
    assert set(got) == {a.id, b.id}
    assert got[a.id]["text"] == "edited" and got[a.id]["filter_tags"] == ["x"]
    assert got[b.id]["custom"] == {"keep": 1, "color": "blue"}
    assert client.feeds.get_activity(id=a.id).data.activity.text == "edited"


def test_update_activities_partial_batch_rejects_bad_fields_atomically(client, make_users):
    alice = make_users("alice")
    (a,) = _posts(client, alice, 1)
    with api_error(400, 4):
        client.feeds.update_activities_partial_batch(changes=[
            UpdateActivityPartialChangeRequest(activity_id=a.id, set={"text": "should not stick"}),
            UpdateActivityPartialChangeRequest(activity_id=a.id, set={"search_data": {"x": 1}}),
        ])
    assert client.feeds.get_activity(id=a.id).data.activity.text == "post 0"
    with api_error(400, 4):
        client.feeds.update_activities_partial_batch(changes=[])
