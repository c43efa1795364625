"""Feed views through the Python SDK: the maintainers' flow (create, get,
update, list, delete), get-or-create, and ranking checks at config time."""

from datetime import datetime, timezone

from getstream.models import (
    ActivitySelectorConfig,
    AggregationConfig,
    DecayFunctionConfig,
    RankingConfig,
)

from sdkhelpers import api_error, raw, uid


def _ranking():
    return RankingConfig(
        type="expression",
        score="simple_gauss(time) * (popularity > 0 ? popularity : 1) + user_score",
        defaults={"user_score": 0.5},
        functions={
            "simple_gauss": DecayFunctionConfig(
                base="decay_gauss", scale="5d", offset="1d", decay="0.3"
            )
        },
    )


def test_feed_view_crud_flow(client):
    view_id = uid("view")
    created = client.feeds.create_feed_view(
        id=view_id,
        activity_selectors=[ActivitySelectorConfig(type="following")],
        ranking=RankingConfig(type="expression", score="decay_linear(time) * (1 + popularity)"),
    )
    assert created.status_code() == 201
    view = created.data.feed_view
    assert view.id == view_id
    assert [s.type for s in view.activity_selectors] == ["following"]
    assert view.ranking.type == "expression"
    assert view.ranking.score == "decay_linear(time) * (1 + popularity)"
    assert view.last_used_at is None

    got = client.feeds.get_feed_view(id=view_id)
    assert got.status_code() == 200
    assert got.data.feed_view.id == view_id
    assert got.data.feed_view.ranking.score == view.ranking.score

    updated = client.feeds.update_feed_view(
        id=view_id,
        activity_selectors=[
            ActivitySelectorConfig(type="following"),
            ActivitySelectorConfig(type="popular", min_popularity=2, cutoff_window="2d"),
        ],
        ranking=_ranking(),
    )
    assert updated.status_code() == 201
    u = updated.data.feed_view
    assert [s.type for s in u.activity_selectors] == ["following", "popular"]
    assert u.activity_selectors[1].min_popularity == 2
    assert u.ranking.functions["simple_gauss"].scale == "5d"
    assert u.ranking.defaults == {"user_score": 0.5}

    listed = client.feeds.list_feed_views()
    assert listed.status_code() == 200
    assert view_id in listed.data.views
    assert listed.data.views[view_id].ranking.score == u.ranking.score

    deleted = client.feeds.delete_feed_view(id=view_id)
    assert deleted.status_code() == 200
    assert "duration" in raw(deleted)
    with api_error(404, 16):
        client.feeds.get_feed_view(id=view_id)
    assert view_id not in client.feeds.list_feed_views().data.views


def test_get_or_create_feed_view_returns_the_existing_view_unchanged(client):
    view_id = uid("view")
    first = client.feeds.get_or_create_feed_view(
        id=view_id, aggregation=AggregationConfig(format="{{ user_id }}")
    )
    assert first.status_code() == 201
    assert first.data.was_created is True
    assert first.data.feed_view.aggregation.format == "{{ user_id }}"
    second = client.feeds.get_or_create_feed_view(id=view_id, ranking=_ranking())
    assert second.data.was_created is False
    assert second.data.feed_view.ranking is None
    assert second.data.feed_view.aggregation.format == "{{ user_id }}"
    client.feeds.delete_feed_view(id=view_id)


def test_bad_ranking_is_refused_with_the_position(client):
    view_id = uid("view")
    with api_error(400, 4) as ei:
        client.feeds.create_feed_view(
            id=view_id, ranking=RankingConfig(type="expression", score="decay_exp(time)) * 2")
        )
    assert "ranking.score: unexpected ')' at 16" in ei.value.message
    with api_error(400, 4) as ei:
        client.feeds.create_feed_view(
            id=view_id, ranking=RankingConfig(type="expression", score="likes_of(time)")
        )
    assert "unknown function 'likes_of'" in ei.value.message
    with api_error(400, 4):
        client.feeds.create_feed_view(
            id=view_id,
            ranking=RankingConfig(
                type="expression",
                score="f(time)",
                functions={"f": DecayFunctionConfig(base="decay_exp", decay="7")},
            ),
        )
    with api_error(404, 16):
        client.feeds.get_feed_view(id=view_id)


def test_feed_group_ranking_is_checked_too(client):
    with api_error(400, 4) as ei:
        client.feeds.create_feed_group(
            id=uid("fg"), ranking=RankingConfig(type="expression", score="popularity +")
        )
    assert "ranking.score" in ei.value.message
    gid = uid("fg")
    created = client.feeds.create_feed_group(id=gid, ranking=_ranking())
    assert created.data.feed_group.ranking.score == _ranking().score


def test_a_view_with_its_own_aggregation_groups_a_flat_feed(client, make_users):
    """A flat feed read through a view whose `aggregation` differs answers
    `aggregated_activities` grouped at read time, with the group's counts,
    its activities newest first, and cursors over the groups."""
    ann, bob, eve = make_users("ann", "bob", "eve")
    for author in (ann, bob):
        client.feeds.get_or_create_follow(source=f"timeline:{eve}", target=f"user:{author}")
    posted = {}
    for name, author, kind in [
        ("p1", ann, "post"), ("f1", bob, "photo"), ("p2", bob, "post"), ("p3", ann, "post"),
    ]:
        a = client.feeds.add_activity(type=kind, feeds=[f"user:{author}"], user_id=author, id=uid(name))
        posted[name] = a.data.activity
    by_type, daily = uid("view"), uid("view")
    client.feeds.create_feed_view(id=by_type, aggregation=AggregationConfig(format="{{ type }}"))
    client.feeds.create_feed_view(
        id=daily, aggregation=AggregationConfig(format='{{ type }}-{{ time.strftime("%Y-%m-%d") }}')
    )

    resp = client.feeds.get_or_create_feed(
        feed_group_id="timeline", feed_id=eve, user_id=eve, view=by_type
    )
    groups = resp.data.aggregated_activities
    assert [g.group for g in groups] == ["post", "photo"]
    posts = groups[0]
    assert [a.id for a in posts.activities] == [posted[n].id for n in ("p3", "p2", "p1")]
    assert (posts.activity_count, posts.user_count, posts.user_count_truncated) == (3, 2, False)
    body = raw(resp)
    assert body["aggregated_activities"][0]["created_at"] == body["aggregated_activities"][0]["activities"][2]["created_at"]
    assert body["activities"] == [], "listed flat only with include_flat_activities"

    page = client.feeds.get_or_create_feed(
        feed_group_id="timeline", feed_id=eve, user_id=eve, view=by_type, limit=1
    )
    assert [g.group for g in page.data.aggregated_activities] == ["post"]
    rest = client.feeds.get_or_create_feed(
        feed_group_id="timeline", feed_id=eve, user_id=eve, view=by_type, limit=1, next=page.data.next
    )
    assert [g.group for g in rest.data.aggregated_activities] == ["photo"]
    assert rest.data.next is None

    resp = client.feeds.get_or_create_feed(feed_group_id="timeline", feed_id=eve, user_id=eve, view=daily)
    for g in raw(resp)["aggregated_activities"]:
        for a in g["activities"]:
            day = datetime.fromtimestamp(a["created_at"] / 1e9, tz=timezone.utc).strftime("%Y-%m-%d")
            assert g["group"] == f"{a['type']}-{day}"
    for view_id in (by_type, daily):
        client.feeds.delete_feed_view(id=view_id)


def test_a_view_aggregation_on_a_notification_feed_is_refused(client, make_users):
    eve = make_users("eve")
    view_id = uid("view")
    client.feeds.create_feed_view(id=view_id, aggregation=AggregationConfig(format="{{ user_id }}"))
    with api_error(400, 4) as ei:
        client.feeds.get_or_create_feed(feed_group_id="notification", feed_id=eve, user_id=eve, view=view_id)
    assert "view" in ei.value.message
    client.feeds.delete_feed_view(id=view_id)
