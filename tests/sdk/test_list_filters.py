"""The shared filter language on the other query endpoints: query_polls,
query_poll_votes, query_pinned_activities and query_collections take their
documented fields and sorts (expected ids, both stores) and refuse the rest
by name."""

import pytest
from getstream.models import CollectionRequest, PollOptionInput, SortParamRequest, VoteData

from sdkhelpers import api_error, uid


def test_query_polls_filters_and_sorts(client, make_users):
    alice, bob = make_users("alice", "bob")
    tag = uid("poll")
    mk = lambda name, by, **kw: client.create_poll(
        name=name, user_id=by, custom={"tag": tag, **kw.pop("custom", {})},
        options=[PollOptionInput(text="x")], **kw).data.poll.id
    p1 = mk("Beta lunch", alice, allow_answers=True, custom={"n": 1})
    p2 = mk("Alpha dinner", bob, max_votes_allowed=3, custom={"n": 2, "words": "spicy noodles"})
    p3 = mk("Gamma", alice, is_closed=True, voting_visibility="anonymous", custom={"n": 3})
    scoped = lambda f: {"$and": [{"custom.tag": tag}, f]}
    ids = lambda f, **kw: [p.id for p in client.query_polls(filter=scoped(f), limit=100, **kw).data.polls]
    cases = [
        ({}, [p3, p2, p1]),
        ({"id": p2}, [p2]),
        ({"id": {"$in": [p1, p3]}}, [p3, p1]),
        ({"name": "Gamma"}, [p3]),
        ({"name": {"$in": ["Gamma", "Beta lunch"]}}, [p3, p1]),
        ({"created_by_id": bob}, [p2]),
        ({"allow_answers": True}, [p1]),
        ({"is_closed": True}, [p3]),
        ({"is_closed": False}, [p2, p1]),
        ({"voting_visibility": "anonymous"}, [p3]),
        ({"max_votes_allowed": {"$gte": 2}}, [p2]),
        ({"max_votes_allowed": {"$exists": False}}, [p3, p1]),
        ({"custom.n": {"$gt": 1}}, [p3, p2]),
        ({"custom.words": {"$q": "noodles"}}, [p2]),
        ({"custom.words": {"$autocomplete": "spi"}}, [p2]),
        ({"custom": {"$contains": {"n": 3}}}, [p3]),
        ({"updated_at": {"$gt": "2000-01-01T00:00:00Z"}}, [p3, p2, p1]),
    ]
    for flt, expected in cases:
        assert ids(flt) == expected, flt
    assert ids({}, sort=[SortParamRequest(field="name", direction=1)]) == [p2, p1, p3]
    assert ids({}, sort=[SortParamRequest(field="is_closed", direction=-1),
                         SortParamRequest(field="created_at", direction=1)]) == [p3, p1, p2]
    page = client.query_polls(filter=scoped({}), limit=2)
    rest = client.query_polls(filter=scoped({}), limit=2, next=page.data.next)
    assert [p.id for p in page.data.polls + rest.data.polls] == [p3, p2, p1]


def test_query_poll_votes_filters(client, make_users):
    alice, bob, carol = make_users("alice", "bob", "carol")
    poll = client.create_poll(name="Q", user_id=alice, allow_answers=True, max_votes_allowed=2,
                              options=[PollOptionInput(text="a"), PollOptionInput(text="b")]).data.poll
    act = client.feeds.add_activity(type="poll", feeds=[f"user:{alice}"], poll_id=poll.id, user_id=alice).data.activity
    a, b = poll.options[0].id, poll.options[1].id
    vote = lambda user, **v: client.feeds.cast_poll_vote(activity_id=act.id, poll_id=poll.id, user_id=user,
                                                         vote=VoteData(**v)).data.vote.id
    v1, v2, v3 = vote(bob, option_id=a), vote(carol, option_id=b), vote(bob, option_id=b)
    answer = vote(carol, answer_text="neither")
    ids = lambda f, **kw: [v.id for v in client.query_poll_votes(poll_id=poll.id, filter=f, limit=100, **kw).data.votes]
    assert ids({}) == [answer, v3, v2, v1]
    assert ids({"user_id": bob}) == [v3, v1]
    assert ids({"option_id": b}) == [v3, v2]
    assert ids({"option_id": {"$in": [a]}}) == [v1]
    assert ids({"is_answer": True}) == [answer]
    assert ids({"option_id": {"$exists": False}}) == [answer]
    assert ids({"id": {"$in": [v1, v2]}}) == [v2, v1]
    assert ids({}, sort=[SortParamRequest(field="created_at", direction=1)]) == [v1, v2, v3, answer]
    with api_error(400, 4) as e:
        client.query_poll_votes(poll_id=poll.id, filter={"answer_text": "x"})
    assert "answer_text" in e.value.message


def test_query_pinned_activities_filters(client, make_users):
    alice, bob = make_users("alice", "bob")
    posts = [client.feeds.add_activity(type="post", feeds=[f"user:{alice}"], user_id=alice).data.activity.id
             for _ in range(3)]
    for p in posts:
        client.feeds.pin_activity(feed_group_id="user", feed_id=alice, activity_id=p, user_id=alice)
    q = lambda f, **kw: [p.activity.id for p in client.feeds.query_pinned_activities(
        feed_group_id="user", feed_id=alice, filter=f, **kw).data.pinned_activities]
    assert q({}) == list(reversed(posts))
    assert q({"activity_id": posts[1]}) == [posts[1]]
    assert q({"activity_id": {"$in": [posts[0], posts[2]]}}) == [posts[2], posts[0]]
    assert q({"user_id": alice}) == list(reversed(posts))
    assert q({"user_id": bob}) == []
    assert q({"fid": f"user:{alice}"}) == list(reversed(posts))
    assert q({"created_at": {"$lt": "2000-01-01T00:00:00Z"}}) == []
    assert q({}, sort=[SortParamRequest(field="created_at", direction=1)]) == posts
    with api_error(400, 4):
        q({"text": "x"})


def test_query_collections_filters(client, make_users):
    alice, bob = make_users("alice", "bob")
    name = uid("coll")
    client.feeds.create_collections(collections=[
        CollectionRequest(name=name, id="a", custom={"kind": "italian", "stars": 4}, user_id=alice),
        CollectionRequest(name=name, id="b", custom={"kind": "thai food", "stars": 5}, user_id=bob),
        CollectionRequest(name=name, id="c", custom={"stars": 2}, user_id=alice),
    ])
    ids = lambda f, **kw: [c.id for c in client.feeds.query_collections(
        filter={"$and": [{"name": name}, f]}, limit=100, **kw).data.collections]
    assert ids({}) == ["c", "b", "a"]
    assert ids({"id": {"$in": ["a", "b"]}}) == ["b", "a"]
    assert ids({"user_id": alice}) == ["c", "a"]
    assert ids({"custom.stars": {"$gte": 4}}) == ["b", "a"]
    assert ids({"custom.kind": {"$exists": True}}) == ["b", "a"]
    assert ids({"custom.kind": {"$q": "food"}}) == ["b"]
    assert ids({"custom": {"$contains": {"kind": "italian"}}}) == ["a"]
    assert ids({}, sort=[SortParamRequest(field="created_at", direction=1)]) == ["a", "b", "c"]
    with api_error(400, 4):
        client.feeds.query_collections(sort=[SortParamRequest(field="stars")])


@pytest.mark.parametrize("call", [
    lambda c: c.query_polls(filter={"colour": "red"}),
    lambda c: c.query_polls(filter={"is_closed": "yes"}),
    lambda c: c.query_polls(sort=[SortParamRequest(field="votes")]),
    lambda c: c.feeds.query_collections(filter={"custom": {"kind": "x"}}),
])
def test_bad_list_filters_are_400(client, call):
    with api_error(400, 4):
        call(client)
