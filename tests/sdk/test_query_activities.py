"""query_activities: each filter operator on each supported field (expected
ids, not just statuses), sort, cursors that stay correct while activities
are added, visibility for user tokens, and bad filters named in the 400."""

from datetime import datetime, timedelta, timezone

import pytest

from sdkhelpers import api_error, uid


@pytest.fixture
def corpus(client, make_users):
    alice, bob = make_users("alice", "bob")
    tag = uid("tag")  # unique per test run so other tests' activities never match
    add = lambda author, **kw: client.feeds.add_activity(
        feeds=[f"user:{author}"], user_id=author, **kw).data.activity
    a = add(alice, type="post", text="Hello brave new world", filter_tags=[tag, "red"],
            custom={"n": 1, "color": "blue", "nested": {"k": "x"}, "tags": ["p", "q"]}, interest_tags=["cats"],
            location={"lat": 52.37, "lng": 4.89},
            search_data={"campaign": {"id": "spring", "labels": ["sale", "new"]}, "mall": {"level": 2}})
    b = add(alice, type="photo", text="Sunset over the sea", filter_tags=[tag, "blue"], custom={"n": 5},
            location={"lat": 51.92, "lng": 4.48}, search_data={"campaign": {"id": "autumn"}})
    c = add(bob, type="post", text="hello again", filter_tags=[tag], custom={"n": 10, "color": "red"},
            expires_at=(datetime.now(timezone.utc) + timedelta(days=1)).isoformat())
    return {"alice": alice, "bob": bob, "tag": tag, "a": a.id, "b": b.id, "c": c.id, "a_obj": a}


def ids(client, flt, **kw):
    return [x.id for x in client.feeds.query_activities(filter=flt, limit=100, **kw).data.activities]


def test_filter_operators(client, corpus):
    t, a, b, c = corpus["tag"], corpus["a"], corpus["b"], corpus["c"]
    scoped = lambda f: {"$and": [{"filter_tags": {"$contains": t}}, f]}
    cases = [
        ({}, [c, b, a]),
        ({"id": a}, [a]),
        ({"id": {"$in": [a, c]}}, [c, a]),
        ({"user_id": corpus["bob"]}, [c]),
        ({"user_id": {"$in": [corpus["alice"]]}}, [b, a]),
        ({"activity_type": "photo"}, [b]),
        ({"activity_type": {"$in": ["post"]}}, [c, a]),
        ({"feed": f"user:{corpus['bob']}"}, [c]),
        ({"feed": {"$in": [f"user:{corpus['alice']}"]}}, [b, a]),
        ({"created_at": {"$gte": (corpus["a_obj"].created_at - timedelta(milliseconds=1)).isoformat()}}, [c, b, a]),
        ({"created_at": {"$lt": "2000-01-01T00:00:00Z"}}, []),
        ({"expires_at": {"$exists": True}}, [c]),
        ({"expires_at": {"$exists": False}}, [b, a]),
        ({"filter_tags": [t, "red"]}, [a]),
        ({"filter_tags": {"$in": ["red", "blue"]}}, [b, a]),
        ({"interest_tags": {"$contains": "cats"}}, [a]),
        ({"custom.n": {"$gte": 5}}, [c, b]),
        ({"custom.n": {"$lt": 5}}, [a]),
        ({"custom.n": 10}, [c]),
        ({"custom.color": {"$in": ["blue", "red"]}}, [c, a]),
        ({"custom.nested.k": "x"}, [a]),
        ({"custom.color": {"$exists": False}}, [b]),
        ({"text": {"$q": "HELLO"}}, [c, a]),
        ({"text": {"$q": "brave world"}}, [a]),
        ({"text": {"$autocomplete": "sun"}}, [b]),
        ({"text": "hello again"}, [c]),
        ({"custom": {"$contains": {"nested": {"k": "x"}}}}, [a]),
        ({"custom": {"$contains": {"tags": ["q"]}}}, [a]),
        ({"custom.tags": {"$contains": "p"}}, [a]),
        ({"custom": {"$contains": {"n": 5}}}, [b]),
        ({"custom": {"$path_exists": "nested.k"}}, [a]),
        ({"search_data": {"$contains": {"campaign": {"id": "spring"}}}}, [a]),
        ({"search_data": {"$contains": {"campaign": {"labels": ["new"]}}}}, [a]),
        ({"search_data": {"$in": [{"campaign": {"id": "autumn"}}, {"mall": {"level": 2}}]}}, [b, a]),
        ({"search_data": {"$path_exists": "mall.level"}}, [a]),
        ({"search_data": {"$path_exists": "campaign.id"}}, [b, a]),
        ({"within_bounds": {"ne_lat": 53, "ne_lng": 5, "sw_lat": 52, "sw_lng": 4}}, [a]),
        # Amsterdam (a) and Rotterdam (b) are 57 km apart.
        ({"near": {"$eq": {"lat": 52.37, "lng": 4.89, "distance": 10}}}, [a]),
        ({"near": {"lat": 52.37, "lng": 4.89, "distance": 60}}, [b, a]),
        ({"near": {"lat": 0, "lng": 0, "distance": 100}}, []),
        ({"$or": [{"activity_type": "photo"}, {"user_id": corpus["bob"]}]}, [c, b]),
        ({"hidden": False}, [c, b, a]),
    ]
    for flt, expected in cases:
        assert ids(client, scoped(flt)) == expected, flt


def test_sort_and_cursors_stay_correct_while_adding(client, make_users):
    author = make_users("author")
    tag = uid("page")
    made = [client.feeds.add_activity(type="post", feeds=[f"user:{author}"], user_id=author,
                                      filter_tags=[tag]).data.activity.id for _ in range(30)]
    flt = {"filter_tags": {"$contains": tag}}
    oldest_first = [x.id for x in client.feeds.query_activities(
        filter=flt, limit=100, sort=[{"field": "created_at", "direction": 1}]).data.activities]
    assert oldest_first == made
    seen, nxt = [], None
    while True:
        page = client.feeds.query_activities(filter=flt, limit=7, next=nxt)
        seen += [x.id for x in page.data.activities]
        # new activities arriving meanwhile must not shift the pages
        client.feeds.add_activity(type="post", feeds=[f"user:{author}"], user_id=author, filter_tags=[tag])
        nxt = page.data.next
        if not nxt:
            break
    assert seen == list(reversed(made))

    first = client.feeds.query_activities(filter=flt, limit=5)
    second = client.feeds.query_activities(filter=flt, limit=5, next=first.data.next)
    back = client.feeds.query_activities(filter=flt, limit=5, prev=second.data.prev)
    assert [x.id for x in back.data.activities] == [x.id for x in first.data.activities]
    assert back.data.prev is None and first.data.prev is None


def test_user_tokens_do_not_see_others_private_activities(client, make_users, user_client):
    alice, bob = make_users("alice", "bob")
    tag = uid("priv")
    secret = client.feeds.add_activity(type="post", feeds=[f"user:{alice}"], user_id=alice, filter_tags=[tag],
                                       visibility="private").data.activity
    flt = {"filter_tags": {"$contains": tag}}
    assert [x.id for x in user_client(bob).feeds.query_activities(filter=flt).data.activities] == []
    assert [x.id for x in user_client(alice).feeds.query_activities(filter=flt).data.activities] == [secret.id]
    # Server-side, a private activity reaches its author unless all are asked for.
    assert [x.id for x in client.feeds.query_activities(filter=flt).data.activities] == []
    assert [x.id for x in client.feeds.query_activities(filter=flt, user_id=alice).data.activities] == [secret.id]
    assert [x.id for x in client.feeds.query_activities(filter=flt, include_private_activities=True)
            .data.activities] == [secret.id]


def test_deleted_and_expired_need_flags(client, make_users):
    alice = make_users("alice")
    tag = uid("life")
    gone = client.feeds.add_activity(type="post", feeds=[f"user:{alice}"], user_id=alice, filter_tags=[tag]).data.activity
    client.feeds.delete_activity(id=gone.id)
    old = client.feeds.add_activity(type="post", feeds=[f"user:{alice}"], user_id=alice, filter_tags=[tag],
                                    expires_at=(datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()).data.activity
    flt = {"filter_tags": {"$contains": tag}}
    assert ids(client, flt) == []
    assert ids(client, flt, include_soft_deleted_activities=True) == [gone.id]
    assert ids(client, flt, include_expired_activities=True) == [old.id]


@pytest.mark.parametrize("flt, named", [
    ({"color": "red"}, "color"),
    ({"user_id": {"$gt": "a"}}, "user_id"),
    ({"$nor": [{"id": "x"}]}, "$nor"),
    ({"created_at": {"$gt": "yesterday"}}, "created_at"),
    ({"popularity": {"$gt": "lots"}}, "popularity"),
    ({"custom": {"a": 1}}, "custom"),
    ({"search_data": {"$eq": {"a": 1}}}, "search_data"),
    ({"near": {"lat": 1, "lng": 2}}, "near"),
    ({"custom": {"$contains": "x"}}, "custom"),
])
def test_bad_filters_are_400_naming_the_problem(client, flt, named):
    with api_error(400, 4) as e:
        client.feeds.query_activities(filter=flt)
    assert named in e.value.message


def test_bad_sort_and_cursor(client):
    with api_error(400, 4):
        client.feeds.query_activities(sort=[{"field": "colour", "direction": -1}])
    with api_error(400, 4):
        client.feeds.query_activities(next="garbage")


def test_feed_read_filter(client, make_users):
    alice, bob = make_users("alice", "bob")
    client.feeds.follow(source=f"timeline:{bob}", target=f"user:{alice}")
    add = lambda **kw: client.feeds.add_activity(feeds=[f"user:{alice}"], user_id=alice, **kw).data.activity
    photo = add(type="photo", filter_tags=["sea"])
    add(type="post", filter_tags=["sea"])
    add(type="photo", filter_tags=["city"])
    timeline = client.feeds.feed("timeline", bob)
    got = timeline.get_or_create(user_id=bob, filter={"activity_type": "photo", "filter_tags": ["sea"]})
    assert [a.id for a in got.data.activities] == [photo.id]
    assert len(timeline.get_or_create(user_id=bob).data.activities) == 3
    with api_error(400, 4):
        timeline.get_or_create(user_id=bob, filter={"colour": "red"})


def test_popularity_filter_counts_reactions_and_shares(client, make_users):
    alice, bob, carol = make_users("alice", "bob", "carol")
    tag = uid("pop")
    add = lambda **kw: client.feeds.add_activity(type="post", feeds=[f"user:{alice}"], user_id=alice,
                                                 filter_tags=[tag], **kw).data.activity
    quiet, liked, shared = add(), add(), add()
    for user in (bob, carol):
        client.feeds.add_activity_reaction(activity_id=liked.id, type="like", user_id=user)
    client.feeds.add_activity(type="share", feeds=[f"user:{bob}"], user_id=bob, parent_id=shared.id)
    scoped = lambda f: {"$and": [{"filter_tags": {"$contains": tag}}, f]}
    assert ids(client, scoped({"popularity": {"$gte": 2}})) == [shared.id, liked.id]
    assert ids(client, scoped({"popularity": {"$gt": 2}})) == [shared.id]
    assert ids(client, scoped({"popularity": 0})) == [quiet.id]


def test_popularity_sort_then_time(client, make_users):
    alice, bob, carol = make_users("alice", "bob", "carol")
    tag = uid("popsort")
    add = lambda: client.feeds.add_activity(type="post", feeds=[f"user:{alice}"], user_id=alice,
                                            filter_tags=[tag]).data.activity.id
    old_quiet, liked, new_quiet, loved = add(), add(), add(), add()
    client.feeds.add_activity_reaction(activity_id=liked, type="like", user_id=bob)
    for user in (bob, carol):
        client.feeds.add_activity_reaction(activity_id=loved, type="like", user_id=user)
    flt = {"filter_tags": {"$contains": tag}}
    sort = [{"field": "popularity", "direction": -1}, {"field": "created_at", "direction": -1}]
    assert ids(client, flt, sort=sort) == [loved, liked, new_quiet, old_quiet]
    first = client.feeds.query_activities(filter=flt, sort=sort, limit=3)
    assert [a.id for a in first.data.activities] == [loved, liked, new_quiet]
    second = client.feeds.query_activities(filter=flt, sort=sort, limit=3, next=first.data.next)
    assert [a.id for a in second.data.activities] == [old_quiet] and second.data.next is None
    back = client.feeds.query_activities(filter=flt, sort=sort, limit=3, prev=second.data.prev)
    assert [a.id for a in back.data.activities] == [loved, liked, new_quiet]
    ascending = [{"field": "popularity", "direction": 1}, {"field": "created_at", "direction": 1}]
    assert ids(client, flt, sort=ascending) == [old_quiet, new_quiet, liked, loved]
