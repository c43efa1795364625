"""Ranked and selected feeds through the Python SDK: each activity selector
alone and mixed, interest tags written by the text_interest_tags processor,
a reader's interests (get_user_interests) reordering an interest-ranked
feed, include_score_vars, a ranking that inverts recency, external_ranking
flipping an order, and paging a ranked feed of 500 in pages of 25.

The session's server is shared: every group, tag and user is unique to its
test, and app-wide selectors are narrowed by a unique filter tag."""

from getstream.models import (
    ActivityProcessorConfig,
    ActivityRequest,
    ActivitySelectorConfig,
    EnrichmentOptions,
    RankingConfig,
)

from sdkhelpers import raw, uid


def _group(client, selectors, ranking=None, processors=None):
    gid = uid("g").replace("-", "_")
    resp = client.feeds.create_feed_group(
        id=gid,
        activity_selectors=[ActivitySelectorConfig(**s) for s in selectors],
        ranking=ranking,
        activity_processors=processors,
    )
    assert resp.status_code() == 201
    return gid


def _read(client, group, feed, user, **kw):
    resp = client.feeds.get_or_create_feed(feed_group_id=group, feed_id=feed, user_id=user, **kw)
    assert resp.status_code() == 201
    return raw(resp)


def _ids(body):
    return [a["id"] for a in body["activities"]]


def _post(client, user, feeds, **fields):
    return client.feeds.add_activity(type="post", feeds=feeds, user_id=user, **fields).data.activity


def _like(client, activity_id, user):
    assert client.feeds.add_activity_reaction(activity_id=activity_id, type="like", user_id=user).status_code() == 201


def test_interest_tags_on_add_and_an_interest_selector(client, make_users):
    ann, eve = make_users("ann", "eve")
    tagging = _group(
        client,
        [{"type": "current_feed"}],
        processors=[ActivityProcessorConfig(type="text_interest_tags")],
    )
    tagged = _post(client, ann, [f"{tagging}:{ann}"], text="Five pizza recipes for dinner", interest_tags=["mine"])
    assert tagged.interest_tags == ["mine", "food"]
    plain = _post(client, ann, [f"user:{ann}"], text="Five pizza recipes for dinner")
    assert not plain.interest_tags

    tag, other = uid("tag"), uid("tag")
    liked = _post(client, ann, [f"user:{ann}"], interest_tags=[tag]).id
    match = _post(client, ann, [f"user:{ann}"], interest_tags=[tag, other]).id
    _post(client, ann, [f"user:{ann}"], interest_tags=[other])
    _like(client, liked, eve)

    interests = client.feeds.get_user_interests(user_id=eve)
    assert interests.status_code() == 200
    assert [(i.tag, i.count) for i in interests.data.interests] == [(tag, 1)]

    mine = _group(client, [{"type": "interest"}])
    assert _ids(_read(client, mine, eve, eve)) == [match, liked]
    assert _ids(_read(client, mine, ann, ann)) == [], "ann reacted to nothing"


def test_a_readers_interests_reorder_an_interest_ranked_feed(client, make_users):
    ann, eve = make_users("ann", "eve")
    music, food = uid("music"), uid("food")
    group = _group(
        client,
        [{"type": "following"}, {"type": "interest"}],
        ranking=RankingConfig(type="interest", score="(1 + interest_score) * decay_exp(time)"),
    )
    client.feeds.get_or_create_follow(source=f"{group}:{eve}", target=f"user:{ann}")
    gig = _post(client, ann, [f"user:{ann}"], interest_tags=[music]).id
    meal = _post(client, ann, [f"user:{ann}"], interest_tags=[food]).id
    assert _ids(_read(client, group, eve, eve)) == [meal, gig], "newest first without interests"

    elsewhere = _post(client, ann, [f"user:{eve}"], interest_tags=[music]).id
    _like(client, elsewhere, eve)
    body = _read(client, group, eve, eve, enrichment_options=EnrichmentOptions(include_score_vars=True))
    assert _ids(body) == [elsewhere, gig, meal]
    by_id = {a["id"]: a for a in body["activities"]}
    assert by_id[gig]["score_vars"]["interest_score"] == 0.5
    assert by_id[meal]["score_vars"]["interest_score"] == 0
    assert by_id[elsewhere]["selector_source"] == "interest"
    assert by_id[gig]["selector_source"] == "following"
    assert "score_vars" not in _read(client, group, eve, eve)["activities"][0]

    # The read's interest_weights go over the computed ones, or replace them.
    assert _ids(_read(client, group, eve, eve, interest_weights={food: 2.0}))[0] == meal
    replaced = _read(client, group, eve, eve, interest_weights={food: 1.0}, overwrite_interest_weights=True)
    assert _ids(replaced) == [meal, gig], "only what eve follows, food first"


def test_each_selector_alone_and_mixed(client, make_users):
    ann, bob, eve = make_users("ann", "bob", "eve")
    tag = uid("t")
    own = _post(client, eve, [f"user:{eve}"], filter_tags=[tag]).id
    followed = _post(client, ann, [f"user:{ann}"], filter_tags=[tag]).id
    hit = _post(client, bob, [f"user:{bob}"], filter_tags=[tag], interest_tags=[tag]).id
    for u in make_users("r1", "r2"):
        _like(client, hit, u)
    queried = _post(client, bob, [f"user:{bob}"], filter_tags=[tag, "q"]).id
    only = {"filter_tags": {"$contains": tag}}

    def feed(selectors):
        group = _group(client, selectors)
        client.feeds.get_or_create_follow(source=f"{group}:{eve}", target=f"user:{ann}")
        # current_feed reads what is posted to the feed itself.
        client.feeds.add_activity(type="post", feeds=[f"{group}:{eve}"], user_id=eve, id=f"{own}-{group}")
        return group, _read(client, group, eve, eve)

    group, body = feed([{"type": "current_feed"}])
    assert _ids(body) == [f"{own}-{group}", followed], "its own posts and what its follow copied in"
    _, body = feed([{"type": "following", "filter": only}])
    assert _ids(body) == [followed]
    _, body = feed([{"type": "popular", "min_popularity": 2, "filter": only}])
    assert _ids(body) == [hit]
    _, body = feed([{"type": "query", "filter": {"filter_tags": {"$contains": "q"}, "id": queried}}])
    assert _ids(body) == [queried]
    _like(client, hit, eve)  # eve's interests: the tag
    _, body = feed([{"type": "interest", "filter": only}])
    assert _ids(body) == [hit]

    _, body = feed([
        {"type": "following", "filter": only},
        {"type": "popular", "min_popularity": 2, "filter": only},
        {"type": "query", "filter": {"id": queried}},
        {"type": "interest", "filter": only},
    ])
    assert sorted((a["id"], a["selector_source"]) for a in body["activities"]) == sorted(
        [(followed, "following"), (hit, "popular"), (queried, "query")]
    )


def test_a_ranking_inverts_recency_and_external_ranking_flips_it(client, make_users):
    ann = make_users("ann")
    tag = uid("t")
    ids = [
        _post(client, ann, [f"user:{ann}"], filter_tags=[tag], custom={"w": w}).id for w in (1, 2, 3)
    ]
    query = [{"type": "query", "filter": {"filter_tags": {"$contains": tag}}}]
    oldest_first = _group(client, query, ranking=RankingConfig(type="expression", score="-time"))
    assert _ids(_read(client, oldest_first, ann, ann)) == ids
    newest = _group(client, query)
    assert _ids(_read(client, newest, ann, ann)) == ids[::-1]

    weighted = _group(
        client, query, ranking=RankingConfig(type="expression", score="custom.w * k", defaults={"k": 1})
    )
    assert _ids(_read(client, weighted, ann, ann)) == ids[::-1]
    flipped = _read(client, weighted, ann, ann, external_ranking={"k": -1})
    assert _ids(flipped) == ids
    assert [a["score"] for a in flipped["activities"]] == [-1, -2, -3]


def test_paging_a_ranked_feed_of_500_in_pages_of_25(client, make_users):
    ann = make_users("ann")
    tag = uid("t")
    for batch in range(5):
        resp = client.feeds.upsert_activities(
            activities=[
                ActivityRequest(
                    type="post",
                    feeds=[f"user:{ann}"],
                    user_id=ann,
                    filter_tags=[tag],
                    custom={"n": batch * 100 + i},
                )
                for i in range(100)
            ]
        )
        assert resp.status_code() == 201
    group = _group(
        client,
        [{"type": "query", "filter": {"filter_tags": {"$contains": tag}}}],
        ranking=RankingConfig(type="expression", score="custom.n"),
    )
    seen, nxt = [], None
    while True:
        body = _read(client, group, ann, ann, limit=25, next=nxt)
        assert 0 < len(body["activities"]) <= 25
        seen.extend(a["custom"]["n"] for a in body["activities"])
        nxt = body.get("next")
        if not nxt:
            break
    assert seen == list(range(499, -1, -1)), "each once, highest score first"
