"""Feed-group CRUD (server-only endpoints)."""

from getstream.models import (
    ActivitySelectorConfig,
    AggregationConfig,
    NotificationConfig,
)

from sdkhelpers import api_error, assert_recent_ns, raw, uid

BUILT_INS = {"user", "timeline", "foryou", "notification", "story", "stories"}


def _gid():
    # feed group ids: keep to lowercase letters, digits and underscore
    return uid("fg")


def test_built_in_groups_exist_and_list_is_keyed_by_id(client):
    resp = client.feeds.list_feed_groups()
    assert resp.status_code() == 200
    groups = resp.data.groups
    assert isinstance(groups, dict)
    assert BUILT_INS <= set(groups)
    for key, g in groups.items():
        assert g.id == key
        assert g.deleted_at is None


def test_built_in_group_can_be_fetched(client):
    g = client.feeds.get_feed_group(id="timeline").data.feed_group
    assert g.id == "timeline"
    assert g.deleted_at is None


def test_create_feed_group_returns_config(client):
    gid = _gid()
    resp = client.feeds.create_feed_group(
        id=gid,
        default_visibility="public",
        custom={"purpose": "sdk-test", "n": 3},
        activity_selectors=[ActivitySelectorConfig(type="following")],
        notification=NotificationConfig(track_read=True, track_seen=True),
    )
    assert resp.status_code() == 201
    g = resp.data.feed_group
    assert g.id == gid
    assert g.default_visibility == "public"
    assert g.custom == {"purpose": "sdk-test", "n": 3}
    assert [s.type for s in g.activity_selectors] == ["following"]
    assert g.notification.track_read is True and g.notification.track_seen is True
    assert g.deleted_at is None
    body = raw(resp)["feed_group"]
    assert_recent_ns(body["created_at"])
    assert_recent_ns(body["updated_at"])

    got = client.feeds.get_feed_group(id=gid).data.feed_group
    assert got.id == gid and got.custom == {"purpose": "sdk-test", "n": 3}
    assert gid in client.feeds.list_feed_groups().data.groups


def test_create_feed_group_default_visibility_is_visible(client):
    gid = _gid()
    g = client.feeds.create_feed_group(id=gid).data.feed_group
    assert g.default_visibility == "visible"


def test_create_duplicate_feed_group_is_400(client):
    gid = _gid()
    client.feeds.create_feed_group(id=gid)
    with api_error(400, 4):
        client.feeds.create_feed_group(id=gid)
    with api_error(400, 4):
        client.feeds.create_feed_group(id="user")


def test_create_feed_group_invalid_visibility_is_400(client):
    with api_error(400, 4):
        client.feeds.create_feed_group(id=_gid(), default_visibility="nonsense")


def test_get_unknown_feed_group_is_404(client):
    with api_error(404, 16):
        client.feeds.get_feed_group(id=_gid())


def test_get_or_create_feed_group(client):
    gid = _gid()
    first = client.feeds.get_or_create_feed_group(id=gid, custom={"v": 1})
    assert first.status_code() == 201
    assert first.data.was_created is True
    assert first.data.feed_group.id == gid
    assert first.data.feed_group.custom == {"v": 1}
    second = client.feeds.get_or_create_feed_group(id=gid, custom={"v": 2})
    assert second.data.was_created is False
    assert second.data.feed_group.custom == {"v": 1}  # existing group returned unchanged
    builtin = client.feeds.get_or_create_feed_group(id="timeline")
    assert builtin.data.was_created is False


def test_update_feed_group_is_full_replacement(client):
    gid = _gid()
    client.feeds.create_feed_group(
        id=gid,
        default_visibility="public",
        custom={"a": 1},
        notification=NotificationConfig(track_seen=True),
        aggregation=AggregationConfig(format="{{ type }}"),
    )
    resp = client.feeds.update_feed_group(id=gid, custom={"b": 2})
    assert resp.status_code() == 201
    g = resp.data.feed_group
    assert g.id == gid
    assert g.custom == {"b": 2}
    assert g.notification is None, "omitted section must be cleared"
    assert g.aggregation is None, "omitted section must be cleared"
    again = client.feeds.get_feed_group(id=gid).data.feed_group
    assert again.custom == {"b": 2} and again.notification is None and again.aggregation is None
    assert raw(resp)["feed_group"]["updated_at"] >= raw(resp)["feed_group"]["created_at"]


def test_update_unknown_feed_group_is_404(client):
    with api_error(404, 16):
        client.feeds.update_feed_group(id=_gid(), custom={"x": 1})


def test_soft_delete_and_restore_feed_group(client):
    gid = _gid()
    client.feeds.create_feed_group(id=gid, custom={"keep": True})
    d = client.feeds.delete_feed_group(id=gid)
    assert d.status_code() == 200

    with api_error(404, 16):
        client.feeds.get_feed_group(id=gid)
    assert gid not in client.feeds.list_feed_groups().data.groups

    soft = client.feeds.get_feed_group(id=gid, include_soft_deleted=True)
    assert soft.data.feed_group.id == gid
    assert_recent_ns(raw(soft)["feed_group"]["deleted_at"])
    listed = client.feeds.list_feed_groups(include_soft_deleted=True).data.groups
    assert gid in listed and listed[gid].deleted_at is not None

    r = client.feeds.restore_feed_group(feed_group_id=gid)
    assert r.status_code() == 201
    assert r.data.feed_group.id == gid
    assert r.data.feed_group.deleted_at is None
    assert r.data.feed_group.custom == {"keep": True}
    got = client.feeds.get_feed_group(id=gid).data.feed_group
    assert got.deleted_at is None
    assert gid in client.feeds.list_feed_groups().data.groups


def test_hard_delete_feed_group(client):
    gid = _gid()
    client.feeds.create_feed_group(id=gid)
    client.feeds.delete_feed_group(id=gid, hard_delete=True)
    with api_error(404, 16):
        client.feeds.get_feed_group(id=gid, include_soft_deleted=True)
    with api_error(404, 16):
        client.feeds.restore_feed_group(feed_group_id=gid)
    assert gid not in client.feeds.list_feed_groups(include_soft_deleted=True).data.groups


def test_delete_unknown_feed_group_is_404(client):
    with api_error(404, 16):
        client.feeds.delete_feed_group(id=_gid())


def test_restore_unknown_feed_group_is_404(client):
    with api_error(404, 16):
        client.feeds.restore_feed_group(feed_group_id=_gid())
