"""Activities: add/get/update/partial update/delete/restore/upsert."""

from datetime import datetime, timezone

import pytest
from getstream.models import ActivityRequest, Attachment, Location

from sdkhelpers import activity_ids, api_error, assert_recent_ns, fid, raw, uid

EXPIRES = datetime(2031, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
EXPIRES_NS = int(EXPIRES.timestamp()) * 1_000_000_000


@pytest.fixture
def author(make_users):
    return make_users("author")


def _add(client, author, **kw):
    kw.setdefault("type", "post")
    kw.setdefault("feeds", [fid("user", author)])
    kw.setdefault("user_id", author)
    return client.feeds.add_activity(**kw)


def test_add_activity_round_trips_fields(client, make_users):
    author, m1, m2 = make_users("author", "mention1", "mention2")
    second_feed = fid("user", uid("second"))
    resp = client.feeds.add_activity(
        type="post",
        feeds=[fid("user", author), second_feed],
        user_id=author,
        text="Hello @mention1 and @mention2",
        custom={"mood": "happy", "n": 7, "nested": {"k": [1, 2]}},
        attachments=[
            Attachment(custom={"w": 640}, type="image", image_url="https://img.example/1.png",
                       title="pic")
        ],
        filter_tags=["news", "tech"],
        interest_tags=["rust", "python"],
        location=Location(lat=52.52, lng=13.405),
        visibility="public",
        mentioned_user_ids=[m1, m2],
        search_data={"category": "greeting"},
        expires_at="2031-05-06T07:08:09Z",
    )
    assert resp.status_code() == 201
    a = resp.data.activity
    assert isinstance(a.id, str) and a.id
    assert a.type == "post"
    assert a.text == "Hello @mention1 and @mention2"
    assert sorted(a.feeds) == sorted([fid("user", author), second_feed])
    assert a.user.id == author and a.user.name == "author"
    assert a.custom == {"mood": "happy", "n": 7, "nested": {"k": [1, 2]}}
    assert len(a.attachments) == 1
    att = a.attachments[0]
    assert (att.type, att.image_url, att.title, att.custom) == (
        "image", "https://img.example/1.png", "pic", {"w": 640})
    assert a.filter_tags == ["news", "tech"]
    assert a.interest_tags == ["rust", "python"]
    assert (a.location.lat, a.location.lng) == (52.52, 13.405)
    assert a.visibility == "public"
    assert sorted(u.id for u in a.mentioned_users) == sorted([m1, m2])
    assert a.search_data == {"category": "greeting"}
    assert a.restrict_replies == "everyone"
    assert (a.reaction_count, a.comment_count, a.bookmark_count, a.share_count) == (0, 0, 0, 0)
    assert a.latest_reactions == [] and a.own_reactions == [] and a.comments == []
    assert a.deleted_at is None
    body = raw(resp)["activity"]
    assert body["expires_at"] == EXPIRES_NS
    assert_recent_ns(body["created_at"])
    assert_recent_ns(body["updated_at"])

    got = client.feeds.get_activity(id=a.id)
    assert got.status_code() == 200
    g = got.data.activity
    assert g.id == a.id and g.text == a.text and g.custom == a.custom
    assert g.filter_tags == ["news", "tech"] and g.interest_tags == ["rust", "python"]
    assert sorted(u.id for u in g.mentioned_users) == sorted([m1, m2])
    gb = raw(got)["activity"]
    assert gb["expires_at"] == EXPIRES_NS
    assert gb["created_at"] == body["created_at"]


def test_add_activity_defaults(client, author):
    a = _add(client, author, text="plain").data.activity
    assert a.visibility == "public"
    assert a.custom == {} and a.attachments == [] and a.filter_tags == []
    assert a.interest_tags == [] and a.mentioned_users == []
    assert a.expires_at is None


@pytest.mark.parametrize("text_in,ns_out", [
    ("2031-05-06T07:08:09Z", EXPIRES_NS),
    ("2031-05-06T07:08:09+00:00", EXPIRES_NS),
    ("2031-05-06T09:08:09+02:00", EXPIRES_NS),
    ("2031-05-06T07:08:09", EXPIRES_NS),  # naive Python isoformat(): UTC
    ("2031-05-06T07:08:09.123Z", EXPIRES_NS + 123_000_000),
])
def test_expires_at_accepts_rfc3339_variants(client, author, text_in, ns_out):
    resp = _add(client, author, text="exp", expires_at=text_in)
    assert raw(resp)["activity"]["expires_at"] == ns_out
    got = client.feeds.get_activity(id=resp.data.activity.id)
    assert raw(got)["activity"]["expires_at"] == ns_out


def test_add_activity_rejects_garbage_expires_at(client, author):
    with api_error(400, 4):
        _add(client, author, expires_at="next tuesday")


def test_update_activity_expires_at_datetime(client, author):
    a = _add(client, author, text="x").data.activity
    resp = client.feeds.update_activity(id=a.id, user_id=author, text="x", expires_at=EXPIRES)
    assert raw(resp)["activity"]["expires_at"] == EXPIRES_NS


def test_add_activity_keeps_client_id_and_existing_id_updates(client, author):
    aid = uid("act")
    first = _add(client, author, id=aid, text="v1").data.activity
    assert first.id == aid
    second = _add(client, author, id=aid, text="v2").data.activity
    assert second.id == aid and second.text == "v2"
    assert client.feeds.get_activity(id=aid).data.activity.text == "v2"
    feed = client.feeds.feed("user", author).get_or_create(user_id=author)
    assert activity_ids(feed).count(aid) == 1


def test_add_activity_to_unknown_feed_creates_it(client, author):
    feed_id = uid("implicit")
    a = _add(client, author, feeds=[fid("user", feed_id)], text="first").data.activity
    resp = client.feeds.feed("user", feed_id).get_or_create(user_id=author)
    assert resp.data.created is False, "feed must have been created implicitly by add_activity"
    assert activity_ids(resp) == [a.id]


def test_add_activity_feed_count_limits(client, author):
    with api_error(400, 4):
        _add(client, author, feeds=[fid("user", uid("f")) for _ in range(26)])
    with api_error(400, 4):
        _add(client, author, feeds=[])
    ok = _add(client, author, feeds=[fid("user", uid("f")) for _ in range(25)]).data.activity
    assert len(ok.feeds) == 25


def test_add_activity_create_users_creates_author(client):
    ghost = uid("newuser")
    a = client.feeds.add_activity(type="post", feeds=[fid("user", ghost)], user_id=ghost,
                                  text="hi", create_users=True).data.activity
    assert a.user.id == ghost
    from getstream.models import QueryUsersPayload
    users = client.query_users(payload=QueryUsersPayload(filter_conditions={"id": ghost})).data.users
    assert [u.id for u in users] == [ghost]


def test_add_activity_requires_type(client, author):
    with api_error(400, 4):
        _add(client, author, type="")


def test_add_activity_requires_user_server_side(client):
    with api_error(400, 4):
        client.feeds.add_activity(type="post", feeds=[fid("user", uid("f"))], text="who?")


def test_add_activity_rejects_malformed_fid(client, author):
    with api_error(400, 4):
        _add(client, author, feeds=["no-colon-here"])


def test_add_activity_rejects_bad_visibility(client, author):
    with api_error(400, 4):
        _add(client, author, visibility="everybody")


def test_get_unknown_activity_is_404(client):
    with api_error(404, 16):
        client.feeds.get_activity(id=uid("missing"))


def test_update_activity_replaces_content(client, author):
    a = _add(client, author, text="before", custom={"k": 1}, filter_tags=["t"],
              search_data={"s": 1}).data.activity
    before = raw(client.feeds.get_activity(id=a.id))["activity"]
    resp = client.feeds.update_activity(id=a.id, user_id=author, text="after",
                                        custom={"new": True})
    assert resp.status_code() == 201
    u = resp.data.activity
    assert u.id == a.id and u.text == "after"
    assert u.custom == {"new": True}
    assert u.filter_tags == [], "fields not provided are cleared by a full update"
    assert u.search_data == {}
    assert u.type == "post" and u.user.id == author
    assert sorted(u.feeds) == [fid("user", author)]
    body = raw(resp)["activity"]
    assert body["created_at"] == before["created_at"]
    assert body["updated_at"] >= before["updated_at"]
    assert isinstance(body.get("edited_at"), int), "edited_at is set when content is edited"
    assert client.feeds.get_activity(id=a.id).data.activity.text == "after"


def test_update_unknown_activity_is_404(client, author):
    with api_error(404, 16):
        client.feeds.update_activity(id=uid("missing"), user_id=author, text="x")


def test_update_activity_partial_set_and_unset(client, author):
    a = _add(client, author, text="orig",
              custom={"color": "red", "size": 10, "keep": True}).data.activity
    resp = client.feeds.update_activity_partial(
        id=a.id,
        user_id=author,
        set={"text": "changed", "custom.color": "blue", "filter_tags": ["x", "y"]},
        unset=["custom.size"],
    )
    assert resp.status_code() == 200
    u = resp.data.activity
    assert u.text == "changed"
    assert u.custom == {"color": "blue", "keep": True}
    assert u.filter_tags == ["x", "y"]
    g = client.feeds.get_activity(id=a.id).data.activity
    assert g.text == "changed" and g.custom == {"color": "blue", "keep": True}

    u2 = client.feeds.update_activity_partial(
        id=a.id, user_id=author, set={"custom.nested.deep": 1}
    ).data.activity
    assert u2.custom == {"color": "blue", "keep": True, "nested": {"deep": 1}}


@pytest.mark.parametrize("field,value", [
    ("id", "other"), ("user_id", "someone"), ("created_at", "2020-01-01T00:00:00Z"),
    ("type", "like"),
])
def test_update_activity_partial_rejects_non_settable_field(client, author, field, value):
    a = _add(client, author, text="x").data.activity
    with api_error(400, 4):
        client.feeds.update_activity_partial(id=a.id, user_id=author, set={field: value})
    assert client.feeds.get_activity(id=a.id).data.activity.type == "post"


def test_update_activity_partial_unknown_is_404(client, author):
    with api_error(404, 16):
        client.feeds.update_activity_partial(id=uid("missing"), user_id=author,
                                             set={"text": "x"})


def test_soft_delete_and_restore_activity(client, author):
    a = _add(client, author, text="soft").data.activity
    d = client.feeds.delete_activity(id=a.id)
    assert d.status_code() == 200
    with api_error(404, 16):
        client.feeds.get_activity(id=a.id)
    feed = client.feeds.feed("user", author)
    assert a.id not in activity_ids(feed.get_or_create(user_id=author))

    r = client.feeds.restore_activity(id=a.id, user_id=author)
    assert r.status_code() == 201
    assert r.data.activity.id == a.id
    assert r.data.activity.text == "soft"
    assert r.data.activity.deleted_at is None
    assert client.feeds.get_activity(id=a.id).data.activity.id == a.id
    assert a.id in activity_ids(feed.get_or_create(user_id=author))


def test_hard_delete_activity(client, author):
    a = _add(client, author, text="hard").data.activity
    client.feeds.delete_activity(id=a.id, hard_delete=True)
    with api_error(404, 16):
        client.feeds.get_activity(id=a.id)
    with api_error(404, 16):
        client.feeds.restore_activity(id=a.id, user_id=author)


def test_delete_unknown_activity_is_404(client):
    with api_error(404, 16):
        client.feeds.delete_activity(id=uid("missing"))


def test_restore_unknown_activity_is_404(client, author):
    with api_error(404, 16):
        client.feeds.restore_activity(id=uid("missing"), user_id=author)


def test_upsert_activities(client, author):
    f = fid("user", author)
    existing = _add(client, author, text="old").data.activity
    new_id = uid("act")
    resp = client.feeds.upsert_activities(activities=[
        ActivityRequest(type="post", feeds=[f], user_id=author, id=new_id, text="one",
                        custom={"i": 1}),
        ActivityRequest(type="photo", feeds=[f], user_id=author, text="two"),
        ActivityRequest(type="post", feeds=[f], user_id=author, id=existing.id, text="updated"),
    ])
    assert resp.status_code() == 201
    acts = resp.data.activities
    assert len(acts) == 3
    by_text = {a.text: a for a in acts}
    assert set(by_text) == {"one", "two", "updated"}
    assert by_text["one"].id == new_id and by_text["one"].custom == {"i": 1}
    assert by_text["two"].type == "photo" and by_text["two"].id
    assert by_text["updated"].id == existing.id
    assert client.feeds.get_activity(id=existing.id).data.activity.text == "updated"
    assert client.feeds.get_activity(id=new_id).data.activity.user.id == author


def test_upsert_activities_requires_items(client):
    with api_error(400, 4):
        client.feeds.upsert_activities(activities=[])


def test_upsert_activities_item_validation(client, author):
    with api_error(400, 4):
        client.feeds.upsert_activities(activities=[
            ActivityRequest(type="post", feeds=[], user_id=author, text="no feeds"),
        ])
