"""Ranked feeds and activity selectors through the Python SDK: the
`proximity` and `follow_suggestion` selectors alone and mixed with
`following`, and a decay function moving an old popular post below a fresh
one as real time passes.

The server is shared by the whole session, so app-wide selectors may meet
other tests' activities: each test tags its activities with a tag of its
own and narrows its reads to it, and places them where no other test does.
"""

import random
import time

from getstream.models import (
    ActivitySelectorConfig,
    DecayFunctionConfig,
    Location,
    RankingConfig,
    UserRequest,
)

from sdkhelpers import activity_ids, raw, uid


def _group(client, selectors, ranking=None):
    group_id = uid("g").replace("-", "_")
    resp = client.feeds.create_feed_group(id=group_id, activity_selectors=selectors, ranking=ranking)
    assert resp.status_code() == 201
    return group_id


def _post(client, user, tag, **fields):
    activity_id = uid("a")
    client.feeds.add_activity(
        id=activity_id, type="post", feeds=[f"user:{user}"], user_id=user, filter_tags=[tag], **fields
    )
    return activity_id


def _read(client, group, feed_id, user, tag, **params):
    return client.feeds.feed(group, feed_id).get_or_create(
        user_id=user, filter={"filter_tags": {"$contains": tag}}, **params
    )


def _sources(resp):
    return sorted((a["id"], a.get("selector_source")) for a in raw(resp)["activities"])


def test_proximity_selector_alone_and_mixed_with_following(client, make_users):
    ann, bob = make_users("ann", "bob")
    # Somewhere of this test's own, away from the poles and the antimeridian.
    lat, lng = random.uniform(-60, 60), random.uniform(-170, 170)
    eve = make_users("eve", custom={"lat": lat, "lng": lng})
    tag = uid("near")
    nearby = _group(client, [ActivitySelectorConfig(type="proximity", params={"distance": 10})])
    local = _group(client, [ActivitySelectorConfig(type="following"), ActivitySelectorConfig(type="proximity")])

    close = _post(client, ann, tag, location=Location(lat=lat + 0.01, lng=lng))  # ~1 km
    town = _post(client, ann, tag, location=Location(lat=lat + 0.3, lng=lng))  # ~33 km
    away = _post(client, bob, tag, location=Location(lat=lat + 5, lng=lng))  # ~550 km
    _post(client, bob, tag)  # no location: never near anything
    _post(client, bob, tag, location=Location(lat=lat, lng=lng), visibility="private")

    # Within the selector's 10 km of eve's stored location.
    assert activity_ids(_read(client, nearby, eve, eve, tag)) == [close]
    # The read's `near` replaces the stored location.
    wide = client.feeds.feed(nearby, eve).get_or_create(
        user_id=eve,
        filter={"filter_tags": {"$contains": tag}, "near": {"$eq": {"lat": lat, "lng": lng, "distance": 100}}},
    )
    assert activity_ids(wide) == [town, close]
    # No stored location and no location filter: nothing is near.
    assert activity_ids(_read(client, nearby, bob, bob, tag)) == []

    # Mixed: bob's far post through the follow, the near ones by proximity
    # (its default radius, 50 km).
    client.feeds.follow(source=f"{local}:{eve}", target=f"user:{bob}")
    mixed = _read(client, local, eve, eve, tag)
    followed = [i for i, s in _sources(mixed) if s == "following"]
    assert away in followed
    assert sorted(i for i, s in _sources(mixed) if s == "proximity") == sorted([close, town])


def test_follow_suggestion_selector_alone_and_mixed_with_following(client, make_users):
    ann, bob, eve = make_users("ann", "bob", "eve")
    tag = uid("sugg")
    discover = _group(client, [ActivitySelectorConfig(type="follow_suggestion")])
    mixed = _group(
        client, [ActivitySelectorConfig(type="following"), ActivitySelectorConfig(type="follow_suggestion")]
    )
    ann_post = _post(client, ann, tag)
    bob_1 = _post(client, bob, tag)
    bob_2 = _post(client, bob, tag)
    # eve follows ann, ann follows bob: bob is suggested to eve.
    client.feeds.follow(source=f"timeline:{eve}", target=f"user:{ann}")
    client.feeds.follow(source=f"timeline:{ann}", target=f"user:{bob}")
    suggested = raw(client.feeds.get_follow_suggestions(feed_group_id="user", user_id=eve))["suggestions"]
    assert suggested[0]["feed"] == f"user:{bob}"

    assert activity_ids(_read(client, discover, eve, eve, tag)) == [bob_2, bob_1]

    client.feeds.follow(source=f"{mixed}:{eve}", target=f"user:{ann}")
    assert _sources(_read(client, mixed, eve, eve, tag)) == sorted(
        [(ann_post, "following"), (bob_1, "follow_suggestion"), (bob_2, "follow_suggestion")]
    )

    # Following bob ends the suggestion, and his posts leave the selector.
    client.feeds.follow(source=f"timeline:{eve}", target=f"user:{bob}")
    assert activity_ids(_read(client, discover, eve, eve, tag)) == []


def test_decay_moves_an_old_popular_post_below_a_fresh_one(client, make_users):
    """Real time passes (no backdating): with a decay whose scale is one
    second, a popular post leads a quiet one of the same age, and two and a
    half seconds later a fresh post with no engagement outranks both."""
    ann, readers = make_users("ann"), make_users("r1", "r2", "r3")
    eve = make_users("eve")
    tag = uid("decay")
    ranking = RankingConfig(
        type="expression",
        score="fast(time) * (1 + popularity)",
        functions={"fast": DecayFunctionConfig(base="decay_exp", scale="1s", decay="0.1")},
    )
    group = _group(
        client, [ActivitySelectorConfig(type="query", filter={"filter_tags": {"$contains": tag}})], ranking
    )
    old = _post(client, ann, tag)
    quiet = _post(client, ann, tag)
    for r in readers[:2]:
        client.feeds.add_bookmark(activity_id=old, user_id=r)  # popularity 6

    first = raw(_read(client, group, eve, eve, tag))["activities"]
    assert [a["id"] for a in first] == [old, quiet]
    assert first[0]["popularity"] == 6
    old_score = first[0]["score"]

    time.sleep(2.5)
    fresh = _post(client, ann, tag)
    later = raw(_read(client, group, eve, eve, tag))["activities"]
    assert [a["id"] for a in later] == [fresh, old, quiet], later
    assert later[1]["score"] < old_score / 10, "the old post's score decayed"
    assert later[1]["popularity"] == 6, "its popularity did not change"
