"""Membership levels through the SDK: create (client or generated id),
query with filters, sorts and cursors, partial update, delete — all
server-side only."""

from getstream.models import SortParamRequest

from sdkhelpers import api_error, assert_recent_ns, raw, uid


def test_create_update_delete(client, server, http, server_token):
    level_id = uid("gold")
    created = raw(client.feeds.create_membership_level(
        id=level_id, name="Gold", description="Top tier", priority=10, tags=["premium", "vip"],
        custom={"color": "gold"}))["membership_level"]
    assert created["id"] == level_id and created["name"] == "Gold"
    assert (created["description"], created["priority"]) == ("Top tier", 10)
    assert created["tags"] == ["premium", "vip"] and created["custom"] == {"color": "gold"}
    assert_recent_ns(created["created_at"])
    assert created["updated_at"] == created["created_at"]

    # Only the fields sent change.
    updated = raw(client.feeds.update_membership_level(id=level_id, priority=20))["membership_level"]
    assert (updated["priority"], updated["name"], updated["tags"]) == (20, "Gold", ["premium", "vip"])
    assert updated["created_at"] == created["created_at"] and updated["updated_at"] > created["updated_at"]
    updated = raw(client.feeds.update_membership_level(
        id=level_id, name="Gold+", description="", tags=["vip"], custom={"color": "amber"}))["membership_level"]
    assert (updated["name"], updated["tags"], updated["custom"], updated["priority"]) == (
        "Gold+", ["vip"], {"color": "amber"}, 20)
    assert "description" not in updated  # an empty description clears it

    got = client.feeds.query_membership_levels(filter={"id": level_id}).data.membership_levels
    assert [(l.id, l.name, l.priority) for l in got] == [(level_id, "Gold+", 20)]

    client.feeds.delete_membership_level(id=level_id)
    assert client.feeds.query_membership_levels(filter={"id": level_id}).data.membership_levels == []
    with api_error(404, 16):
        client.feeds.delete_membership_level(id=level_id)
    with api_error(404, 16):
        client.feeds.update_membership_level(id=level_id, name="again")

    # Without an id (the SDK always sends one) the server makes one.
    r = http.post("/api/v2/feeds/membership_levels", params={"api_key": server.api_key},
                  headers={"Authorization": server_token, "Stream-Auth-Type": "jwt"}, json={"name": "Generated"})
    assert r.status_code == 201, r.text
    generated = r.json()["membership_level"]
    assert generated["id"] and generated["priority"] == 0 and generated["tags"] == []
    assert generated["custom"] == {}
    client.feeds.delete_membership_level(id=generated["id"])


def test_bad_input(client):
    level_id = uid("dup")
    client.feeds.create_membership_level(id=level_id, name="One")
    with api_error(400, 4):  # duplicate id
        client.feeds.create_membership_level(id=level_id, name="Two")
    with api_error(400, 4):
        client.feeds.create_membership_level(id=uid("l"), name="")
    with api_error(400, 4):
        client.feeds.create_membership_level(id="x" * 256, name="Long id")
    with api_error(400, 4):  # the path of QueryMembershipLevels
        client.feeds.create_membership_level(id="query", name="Reserved")
    with api_error(400, 4):
        client.feeds.create_membership_level(id=uid("l"), name="Negative", priority=-1)
    with api_error(400, 4):
        client.feeds.create_membership_level(id=uid("l"), name="Long", description="d" * 1001)
    with api_error(400, 4):
        client.feeds.create_membership_level(id=uid("l"), name="Tags", tags=[""])
    with api_error(400, 4):
        client.feeds.update_membership_level(id=level_id, name="")
    with api_error(400, 4):
        client.feeds.update_membership_level(id=level_id, priority=-5)
    with api_error(400, 4):
        client.feeds.query_membership_levels(filter={"colour": "red"})
    with api_error(400, 4):
        client.feeds.query_membership_levels(filter={"name": {"$gt": "a"}})
    with api_error(400, 4):
        client.feeds.query_membership_levels(sort=[SortParamRequest(field="name", direction=1)])
    with api_error(400, 4):
        client.feeds.query_membership_levels(limit=101)
    with api_error(400, 4):
        client.feeds.query_membership_levels(next="garbage")
    level = client.feeds.query_membership_levels(filter={"id": level_id}).data.membership_levels[0]
    assert level.name == "One"  # nothing above changed it


def test_query_filters_sort_and_paging(client):
    run = uid("run")  # scopes every query to this test's levels
    specs = [("bronze", 1, ["a"], "low"), ("silver", 2, ["a", "b"], "mid"),
             ("gold", 3, ["b", "c"], "high"), ("platinum", 4, ["c"], "high")]
    ids = {}
    for name, priority, tags, band in specs:
        level_id = f"{run}_{name}"
        ids[name] = level_id
        client.feeds.create_membership_level(
            id=level_id, name=name, description=f"{name} tier", priority=priority, tags=tags + [run],
            custom={"band": band, "meta": {"rank": priority}})

    def q(filter, **kw):
        levels = client.feeds.query_membership_levels(filter={"$and": [{"tags": {"$contains": run}}, filter]},
                                                      **kw).data.membership_levels
        return [l.name for l in levels]

    by_priority = [SortParamRequest(field="priority", direction=1)]
    assert q({}, sort=by_priority) == ["bronze", "silver", "gold", "platinum"]
    assert q({}, sort=[SortParamRequest(field="priority", direction=-1)]) == [
        "platinum", "gold", "silver", "bronze"]
    assert q({}) == ["platinum", "gold", "silver", "bronze"]  # default: newest first
    assert q({}, sort=[SortParamRequest(field="created_at", direction=1)]) == [
        "bronze", "silver", "gold", "platinum"]
    assert q({}, sort=[SortParamRequest(field="updated_at", direction=1)]) == [
        "bronze", "silver", "gold", "platinum"]

    assert q({"priority": {"$gte": 3}}, sort=by_priority) == ["gold", "platinum"]
    assert q({"priority": {"$lt": 2}}) == ["bronze"]
    assert q({"priority": 2}) == ["silver"]
    assert q({"name": {"$in": ["gold", "bronze", "none"]}}, sort=by_priority) == ["bronze", "gold"]
    assert q({"id": ids["silver"]}) == ["silver"]
    assert q({"description": "gold tier"}) == ["gold"]
    assert q({"tags": {"$contains": "b"}}, sort=by_priority) == ["silver", "gold"]
    assert q({"tags": ["a", "b"]}) == ["silver"]  # $eq with a list: holds all of them
    assert q({"tags": {"$in": ["a", "c"]}}, sort=by_priority) == ["bronze", "silver", "gold", "platinum"]
    assert q({"custom": {"$contains": {"band": "high"}}}, sort=by_priority) == ["gold", "platinum"]
    assert q({"custom": {"$in": [{"band": "low"}, {"band": "mid"}]}}, sort=by_priority) == ["bronze", "silver"]
    assert q({"custom": {"$path_exists": "meta.rank"}}, sort=by_priority) == [
        "bronze", "silver", "gold", "platinum"]
    assert q({"custom": {"$path_exists": "meta.missing"}}) == []
    assert q({"$or": [{"priority": 1}, {"name": "platinum"}]}, sort=by_priority) == ["bronze", "platinum"]

    first = client.feeds.query_membership_levels(filter={"tags": {"$contains": run}}, sort=by_priority, limit=3)
    assert [l.name for l in first.data.membership_levels] == ["bronze", "silver", "gold"]
    assert first.data.next and not first.data.prev
    second = client.feeds.query_membership_levels(filter={"tags": {"$contains": run}}, sort=by_priority, limit=3,
                                                  next=first.data.next)
    assert [l.name for l in second.data.membership_levels] == ["platinum"]
    assert not second.data.next and second.data.prev
    back = client.feeds.query_membership_levels(filter={"tags": {"$contains": run}}, sort=by_priority, limit=3,
                                                prev=second.data.prev)
    assert [l.name for l in back.data.membership_levels] == ["bronze", "silver", "gold"]

    for level_id in ids.values():
        client.feeds.delete_membership_level(id=level_id)
    assert q({}) == []


def test_user_tokens_are_refused(client, user_client, make_users):
    alice = make_users("alice")
    level_id = uid("lvl")
    client.feeds.create_membership_level(id=level_id, name="Staff")
    uc = user_client(alice)
    with api_error(403, 17):
        uc.feeds.create_membership_level(id=uid("lvl"), name="Mine")
    with api_error(403, 17):
        uc.feeds.query_membership_levels()
    with api_error(403, 17):
        uc.feeds.update_membership_level(id=level_id, name="Hacked")
    with api_error(403, 17):
        uc.feeds.delete_membership_level(id=level_id)
    assert client.feeds.query_membership_levels(filter={"id": level_id}).data.membership_levels[0].name == "Staff"
    client.feeds.delete_membership_level(id=level_id)
