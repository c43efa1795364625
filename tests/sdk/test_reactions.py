"""Activity reactions through the official SDK: add, re-add, enforce_unique,
counts and groups on the activity, own/latest reactions, query, delete."""

from concurrent.futures import ThreadPoolExecutor

from sdkhelpers import api_error, assert_recent_ns, raw, uid


def _post(client, author):
    return client.feeds.add_activity(
        type="post", feeds=[f"user:{author}"], text="react to me", user_id=author
    ).data.activity


def test_add_activity_reaction_counts_groups_and_own(client, make_users):
    alice, bob, carol = make_users("alice", "bob", "carol")
    activity = _post(client, alice)

    resp = client.feeds.add_activity_reaction(
        activity_id=activity.id, type="like", user_id=bob, custom={"emoji": "+1"}
    )
    body = raw(resp)
    assert body["reaction"]["type"] == "like"
    assert body["reaction"]["user"]["id"] == bob
    assert body["reaction"]["activity_id"] == activity.id
    assert body["reaction"]["custom"] == {"emoji": "+1"}
    assert_recent_ns(body["reaction"]["created_at"])
    assert body["activity"]["reaction_count"] == 1
    assert body["activity"]["reaction_groups"]["like"]["count"] == 1
    assert [r["user"]["id"] for r in body["activity"]["own_reactions"]] == [bob]

    client.feeds.add_activity_reaction(activity_id=activity.id, type="like", user_id=carol)
    client.feeds.add_activity_reaction(activity_id=activity.id, type="love", user_id=carol)
    got = raw(client.feeds.get_activity(id=activity.id, user_id=carol))["activity"]
    assert got["reaction_count"] == 3
    assert {k: v["count"] for k, v in got["reaction_groups"].items()} == {"like": 2, "love": 1}
    assert sorted(r["type"] for r in got["own_reactions"]) == ["like", "love"]
    assert [r["user"]["id"] for r in got["latest_reactions"]][0] == carol
    assert got["popularity"] == 3


def test_re_adding_the_same_type_does_not_duplicate(client, make_users):
    alice, bob = make_users("alice", "bob")
    activity = _post(client, alice)
    first = raw(client.feeds.add_activity_reaction(activity_id=activity.id, type="like", user_id=bob))
    again = raw(client.feeds.add_activity_reaction(
        activity_id=activity.id, type="like", user_id=bob, custom={"v": 2}))
    assert again["activity"]["reaction_count"] == 1
    assert again["reaction"]["created_at"] == first["reaction"]["created_at"]
    assert again["reaction"]["custom"] == {"v": 2}


def test_enforce_unique_keeps_one_reaction_per_user(client, make_users):
    alice, bob = make_users("alice", "bob")
    activity = _post(client, alice)
    client.feeds.add_activity_reaction(activity_id=activity.id, type="like", user_id=bob)
    body = raw(client.feeds.add_activity_reaction(
        activity_id=activity.id, type="love", user_id=bob, enforce_unique=True))
    assert body["activity"]["reaction_count"] == 1
    assert list(body["activity"]["reaction_groups"]) == ["love"]


def test_concurrent_enforce_unique_reactions_leave_exactly_one_each(client, make_users):
    alice = make_users("alice")
    users = make_users(*[f"fan{i}" for i in range(10)])
    activity = _post(client, alice)
    kinds = ["like", "love", "wow", "haha"]

    def react(args):
        user, kind = args
        client.feeds.add_activity_reaction(
            activity_id=activity.id, type=kind, user_id=user, enforce_unique=True)

    jobs = [(u, k) for u in users for k in kinds for _ in range(2)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(react, jobs))
    got = raw(client.feeds.get_activity(id=activity.id))["activity"]
    assert got["reaction_count"] == len(users)
    assert sum(g["count"] for g in got["reaction_groups"].values()) == len(users)


def test_query_and_delete_activity_reactions(client, make_users):
    alice, bob, carol = make_users("alice", "bob", "carol")
    activity = _post(client, alice)
    for user, kind in [(bob, "like"), (carol, "like"), (carol, "love")]:
        client.feeds.add_activity_reaction(activity_id=activity.id, type=kind, user_id=user)

    likes = client.feeds.query_activity_reactions(
        activity_id=activity.id, filter={"reaction_type": "like"}).data.reactions
    assert sorted(r.user.id for r in likes) == sorted([bob, carol])

    page = client.feeds.query_activity_reactions(activity_id=activity.id, limit=2)
    assert len(page.data.reactions) == 2 and page.data.next
    rest = client.feeds.query_activity_reactions(activity_id=activity.id, limit=2, next=page.data.next)
    assert len(rest.data.reactions) == 1 and rest.data.next is None

    deleted = raw(client.feeds.delete_activity_reaction(activity_id=activity.id, type="like", user_id=carol))
    assert deleted["reaction"]["user"]["id"] == carol
    assert deleted["activity"]["reaction_count"] == 2

    with api_error(404, 16):
        client.feeds.delete_activity_reaction(activity_id=activity.id, type="like", user_id=carol)


def test_reaction_bad_input(client, make_users):
    alice, bob = make_users("alice", "bob")
    activity = _post(client, alice)
    with api_error(404, 16):
        client.feeds.add_activity_reaction(activity_id=uid("missing"), type="like", user_id=bob)
    with api_error(400, 4):
        client.feeds.add_activity_reaction(activity_id=activity.id, type="", user_id=bob)
    with api_error(400, 4):
        client.feeds.add_activity_reaction(activity_id=activity.id, type="like")
    with api_error(400, 4):
        client.feeds.add_activity_reaction(activity_id=activity.id, type="like", user_id=uid("ghost"))
    with api_error(400, 4):
        client.feeds.query_activity_reactions(activity_id=activity.id, filter={"color": "red"})
