"""Feed visibility levels through the SDK: list, get, update of per-role
grants (validated), server-side only. Grants are app-wide, so tests change
roles of their own and restore any built-in role they touch."""

from sdkhelpers import api_error, raw, uid

LEVELS = {"public", "visible", "followers", "members", "private"}
PERMISSION_FIELDS = {"id", "name", "description", "action", "owner", "same_team", "custom", "level",
                     "owner_resource", "tags"}


def test_list_and_get_show_the_built_in_grants(client):
    listed = raw(client.feeds.list_feed_visibilities())["feed_visibilities"]
    assert set(listed) == LEVELS
    for name, level in listed.items():
        assert level["name"] == name
        assert set(level["grants"]) >= {"feed_owner", "feed_member", "follower", "user", "anonymous"}
        granted = {p for perms in level["grants"].values() for p in perms}
        assert {p["name"] for p in level["permissions"]} == granted
        for p in level["permissions"]:
            assert set(p) >= PERMISSION_FIELDS and p["id"] == p["name"] and p["level"] == "feed"
            assert p["owner"] == ("-own-" in p["name"])
        got = raw(client.feeds.get_feed_visibility(name=name))["feed_visibility"]
        assert got == level

    visible = listed["visible"]["grants"]
    assert "read-activities" in visible["anonymous"] and "add-activity" not in visible["user"]
    assert "follow" in visible["user"] and "add-activity" in visible["feed_member"]
    assert "add-activity" in listed["public"]["grants"]["user"]
    followers = listed["followers"]["grants"]
    assert followers["user"] == ["follow"] and "read-activities" in followers["follower"]
    assert "read-feed" not in listed["members"]["grants"]["follower"]
    assert "read-feed" in listed["members"]["grants"]["feed_member"]
    private = listed["private"]["grants"]
    assert all("read-feed" not in private[r] for r in ("feed_member", "follower", "user", "anonymous"))
    owner = set(private["feed_owner"])
    assert {"delete-feed", "pin-activity", "update-any-comment", "update-feed-members"} <= owner
    own_delete = next(p for p in listed["visible"]["permissions"] if p["name"] == "delete-own-activity")
    any_delete = next(p for p in listed["visible"]["permissions"] if p["name"] == "delete-any-activity")
    assert own_delete["action"] == any_delete["action"] == "DeleteActivity"
    assert (own_delete["owner"], any_delete["owner"]) == (True, False)


def test_update_replaces_named_roles_only(client):
    role = uid("role")
    before = raw(client.feeds.get_feed_visibility(name="followers"))["feed_visibility"]["grants"]
    updated = raw(client.feeds.update_feed_visibility(
        name="followers", grants={role: ["read-feed", "add-activity", "read-feed"]}))["feed_visibility"]
    assert updated["name"] == "followers"
    assert updated["grants"][role] == ["add-activity", "read-feed"]  # canonical order, no repeats
    assert {k: v for k, v in updated["grants"].items() if k != role} == before
    assert raw(client.feeds.get_feed_visibility(name="followers"))["feed_visibility"] == updated
    assert raw(client.feeds.list_feed_visibilities())["feed_visibilities"]["followers"] == updated

    # A second update of another role keeps the first; an empty list revokes all.
    other = uid("role")
    updated = raw(client.feeds.update_feed_visibility(
        name="followers", grants={other: ["pin-activity"], role: []}))["feed_visibility"]
    assert updated["grants"][role] == [] and updated["grants"][other] == ["pin-activity"]
    assert "pin-activity" in {p["name"] for p in updated["permissions"]}

    # A built-in role can be changed, and is restored here for other tests.
    original = before["user"]
    try:
        changed = raw(client.feeds.update_feed_visibility(
            name="followers", grants={"user": ["follow", "read-feed"]}))["feed_visibility"]
        assert changed["grants"]["user"] == ["follow", "read-feed"]
    finally:
        client.feeds.update_feed_visibility(name="followers", grants={"user": original})
    assert raw(client.feeds.get_feed_visibility(name="followers"))["feed_visibility"]["grants"]["user"] == original

    # No grants (the SDK sample sends {}) changes nothing.
    same = raw(client.feeds.update_feed_visibility(name="followers", grants={}))["feed_visibility"]
    assert same["grants"]["user"] == original
    # Other levels are untouched.
    assert role not in raw(client.feeds.get_feed_visibility(name="visible"))["feed_visibility"]["grants"]


def test_validation(client):
    with api_error(404, 16):
        client.feeds.get_feed_visibility(name="secret")
    with api_error(404, 16):
        client.feeds.update_feed_visibility(name="secret", grants={"user": ["read-feed"]})
    role = uid("role")
    with api_error(400, 4):
        client.feeds.update_feed_visibility(name="visible", grants={role: ["read-feed", "fly"]})
    with api_error(400, 4):
        client.feeds.update_feed_visibility(name="visible", grants={"": ["read-feed"]})
    assert role not in raw(client.feeds.get_feed_visibility(name="visible"))["feed_visibility"]["grants"]


def test_user_tokens_are_refused(user_client, make_users):
    uc = user_client(make_users("alice"))
    with api_error(403, 17):
        uc.feeds.list_feed_visibilities()
    with api_error(403, 17):
        uc.feeds.get_feed_visibility(name="public")
    with api_error(403, 17):
        uc.feeds.update_feed_visibility(name="public", grants={"user": []})
