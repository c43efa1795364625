"""Threaded comments and comment reactions through the SDK: the lifecycle,
a 60-comment three-level thread read in every sort mode / depth /
replies_limit / id_around with exact ids, QueryComments, restrict_replies,
notifications, concurrency, and bad input."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from sdkhelpers import api_error, notification_activities, raw, uid


def _post(client, author, **kw):
    return client.feeds.add_activity(type="post", feeds=[f"user:{author}"], user_id=author, text="post",
                                     **kw).data.activity


def _comment(client, activity_id, user, text="hi", **kw):
    if "parent_id" not in kw:
        kw.update(object_id=activity_id, object_type="activity")
    return client.feeds.add_comment(comment=text, user_id=user, **kw).data.comment


def test_comment_lifecycle_and_activity_counts(client, make_users):
    alice, bob = make_users("alice", "bob")
    post = _post(client, alice)
    root = _comment(client, post.id, bob, "first!", custom={"mood": "happy"}, mentioned_user_ids=[alice])
    assert root.object_id == post.id and root.object_type == "activity" and root.status == "active"
    assert [u.id for u in root.mentioned_users] == [alice]
    reply = _comment(client, None, alice, "thanks", parent_id=root.id)
    assert reply.object_id == post.id and reply.parent_id == root.id

    got = client.feeds.get_comment(id=root.id).data.comment
    assert got.reply_count == 1 and got.text == "first!" and got.custom == {"mood": "happy"}
    updated = client.feeds.update_comment(id=root.id, comment="first (edited)").data.comment
    assert updated.text == "first (edited)" and updated.edited_at
    partial = client.feeds.update_comment_partial(id=root.id, set={"custom.color": "red"}, unset=["custom.mood"])
    assert partial.data.comment.custom == {"color": "red"}

    activity = raw(client.feeds.get_activity(id=post.id))["activity"]
    assert activity["comment_count"] == 2
    assert [c["id"] for c in activity["comments"]] == [root.id]  # newest top-level comments

    deleted = raw(client.feeds.delete_comment(id=reply.id))
    assert deleted["comment"]["status"] == "deleted" and deleted["activity"]["comment_count"] == 1
    thread = raw(client.feeds.get_comments(object_id=post.id, object_type="activity", depth=2))
    assert thread["comments"][0]["replies"][0]["status"] == "deleted"  # a tombstone keeps the thread
    restored = raw(client.feeds.restore_comment(id=reply.id))
    assert restored["comment"]["status"] == "active" and restored["activity"]["comment_count"] == 2

    client.feeds.delete_comment(id=root.id, hard_delete=True)
    for gone in (root.id, reply.id):  # the reply goes with its parent
        with api_error(404, 16):
            client.feeds.get_comment(id=gone)
    assert raw(client.feeds.get_activity(id=post.id))["activity"]["comment_count"] == 0


def test_comment_reactions_votes_and_scores(client, make_users):
    alice, bob, carol, dave = make_users("alice", "bob", "carol", "dave")
    post = _post(client, alice)
    c = _comment(client, post.id, alice)
    for u in (bob, carol):
        client.feeds.add_comment_reaction(id=c.id, type="upvote", user_id=u)
    resp = raw(client.feeds.add_comment_reaction(id=c.id, type="downvote", user_id=dave))
    assert resp["reaction"]["comment_id"] == c.id and resp["reaction"]["activity_id"] == post.id
    got = resp["comment"]
    assert (got["upvote_count"], got["downvote_count"], got["score"], got["reaction_count"]) == (2, 1, 1, 3)
    assert got["confidence_score"] > 0 and got["controversy_score"] == pytest.approx(3 ** 0.5)
    assert got["reaction_groups"]["upvote"]["count"] == 2
    # enforce_unique: dave switches his vote.
    switched = raw(client.feeds.add_comment_reaction(id=c.id, type="upvote", user_id=dave, enforce_unique=True))
    assert (switched["comment"]["upvote_count"], switched["comment"]["downvote_count"]) == (3, 0)
    mine = raw(client.feeds.get_comment(id=c.id, user_id=dave))["comment"]["own_reactions"]
    assert [r["type"] for r in mine] == ["upvote"]

    q = client.feeds.query_comment_reactions(id=c.id, filter={"user_id": {"$in": [bob, carol]}}, limit=1)
    assert len(q.data.reactions) == 1 and q.data.next
    assert [r.user.id for r in client.feeds.query_comment_reactions(
        id=c.id, filter={"reaction_type": "upvote", "user_id": dave}).data.reactions] == [dave]
    removed = raw(client.feeds.delete_comment_reaction(id=c.id, type="upvote", user_id=bob))
    assert removed["comment"]["upvote_count"] == 2 and removed["reaction"]["user"]["id"] == bob
    with api_error(404, 16):
        client.feeds.delete_comment_reaction(id=c.id, type="upvote", user_id=bob)


@pytest.fixture
def thread(client, make_users):
    """60 comments in three levels, with votes that order the roots:
    10 roots r0..r9; 2 replies a[i][0..1] under each; 3 replies b[i][j][0..2]
    under the replies of roots r0..r4."""
    users = make_users(*[f"u{i}" for i in range(7)])
    author = users[0]
    post = _post(client, author)
    roots, a, b = [], {}, {}
    for i in range(10):
        roots.append(_comment(client, post.id, users[1 + i % 6], f"root {i}").id)
    for i in range(10):
        a[i] = [_comment(client, None, author, f"a {i}.{j}", parent_id=roots[i]).id for j in range(2)]
    for i in range(5):
        for j in range(2):
            b[(i, j)] = [_comment(client, None, author, f"b {i}.{j}.{k}", parent_id=a[i][j]).id for k in range(3)]
    votes = {0: (5, 0), 1: (3, 3), 2: (1, 0), 3: (0, 2)}
    for i, (up, down) in votes.items():
        for n in range(up + down):
            kind = "upvote" if n < up else "downvote"
            client.feeds.add_comment_reaction(id=roots[i], type=kind, user_id=users[1 + n % 6] if n < 6 else author)
    return {"post": post.id, "roots": roots, "a": a, "b": b}


def _ids(nodes):
    return [n["id"] for n in nodes]


def test_threaded_reads_in_every_mode(client, thread):
    r, a, b, post = thread["roots"], thread["a"], thread["b"], thread["post"]
    read = lambda **kw: raw(client.feeds.get_comments(object_id=post, object_type="activity", **kw))
    expected = {
        "first": r,
        "last": r[::-1],
        "top": [r[0], r[2], r[9], r[8], r[7], r[6], r[5], r[4], r[1], r[3]],
        "best": [r[0], r[2], r[1], r[9], r[8], r[7], r[6], r[5], r[4], r[3]],
        "controversial": [r[1], r[9], r[8], r[7], r[6], r[5], r[4], r[3], r[2], r[0]],
    }
    for mode, order in expected.items():
        got = read(sort=mode, limit=10)
        assert got["sort"] == mode and _ids(got["comments"]) == order, mode
        assert all(c["replies"] == [] for c in got["comments"])  # first level only by default
    assert _ids(read()["comments"]) == r[::-1]  # default sort: last

    # depth counts reply levels ("0 = only first level").
    two = read(sort="first", depth=1, replies_limit=1, limit=10)["comments"]
    assert [_ids(c["replies"]) for c in two] == [[a[i][0]] for i in range(10)]
    assert two[0]["meta"] == {"has_more": True, "remaining": 1, "depth_truncated": False,
                              "next_cursor": two[0]["meta"]["next_cursor"]}
    assert two[0]["replies"][0]["meta"]["depth_truncated"] is True  # b-level not loaded
    assert two[7]["replies"][0]["meta"]["depth_truncated"] is False  # a[7][0] has no replies

    three = read(sort="last", depth=2, replies_limit=2, limit=10)["comments"]
    by_id = {c["id"]: c for c in three}
    root0 = by_id[r[0]]
    assert _ids(root0["replies"]) == [a[0][1], a[0][0]]
    assert _ids(root0["replies"][0]["replies"]) == [b[(0, 1)][2], b[(0, 1)][1]]
    assert root0["replies"][0]["meta"]["remaining"] == 1 and root0["replies"][0]["reply_count"] == 3
    assert root0["reply_count"] == 2 and root0["meta"]["has_more"] is False

    # Pages and deep links.
    first_page = read(sort="first", limit=4)
    second_page = read(sort="first", limit=4, next=first_page["next"])
    assert _ids(first_page["comments"]) == r[:4] and _ids(second_page["comments"]) == r[4:8]
    assert _ids(read(sort="first", limit=4, id_around=r[6])["comments"]) == r[4:8]
    assert _ids(read(sort="first", limit=4, id_around=b[(0, 1)][1])["comments"]) == r[:4]

    replies = raw(client.feeds.get_comment_replies(id=a[0][0], sort="first", limit=2))
    assert _ids(replies["comments"]) == b[(0, 0)][:2] and replies["next"]
    more = raw(client.feeds.get_comment_replies(id=a[0][0], sort="first", limit=2, next=replies["next"]))
    assert _ids(more["comments"]) == b[(0, 0)][2:]
    nested = raw(client.feeds.get_comment_replies(id=r[0], sort="first", depth=1, replies_limit=3))["comments"]
    assert [_ids(n["replies"]) for n in nested] == [b[(0, 0)], b[(0, 1)]]

    activity = raw(client.feeds.get_activity(id=post))["activity"]
    assert activity["comment_count"] == 60 and _ids(activity["comments"]) == r[::-1][:5]


def test_query_comments(client, thread):
    r, a, post = thread["roots"], thread["a"], thread["post"]
    q = lambda flt, **kw: [c.id for c in client.feeds.query_comments(filter=flt, limit=100, **kw).data.comments]
    scoped = lambda f: {"$and": [{"object_id": post}, f]}
    assert q(scoped({"parent_id": r[3]}), sort="first") == a[3]
    assert q(scoped({"score": {"$gte": 1}}), sort="top") == [r[0], r[2]]
    assert q(scoped({"downvote_count": {"$gt": 0}}), sort="first") == [r[1], r[3]]
    assert q(scoped({"comment_text": {"$q": "root 7"}})) == [r[7]]
    assert q(scoped({"reply_count": {"$gte": 3}}), sort="first") == [x for i in range(5) for x in a[i]]
    assert len(q({"object_id": post})) == 60
    page = client.feeds.query_comments(filter={"object_id": post}, sort="first", limit=25)
    assert len(page.data.comments) == 25 and page.data.next
    with api_error(400, 4):
        client.feeds.query_comments(filter={"color": "red"})
    with api_error(400, 4):
        client.feeds.query_comments(filter={"score": 3})  # ranges only


def test_restrict_replies(client, make_users, user_client):
    alice, friend, stranger = make_users("alice", "friend", "stranger")
    closed = _post(client, alice, restrict_replies="nobody")
    with api_error(403, 17):
        user_client(stranger).feeds.add_comment(comment="hi", object_id=closed.id, object_type="activity")
    user_client(alice).feeds.add_comment(comment="mine", object_id=closed.id, object_type="activity")
    _comment(client, closed.id, stranger)  # server-side calls are not restricted

    friends_only = _post(client, alice, restrict_replies="people_i_follow")
    client.feeds.follow(source=f"timeline:{alice}", target=f"user:{friend}")
    user_client(friend).feeds.add_comment(comment="hey", object_id=friends_only.id, object_type="activity")
    with api_error(403, 17):
        user_client(stranger).feeds.add_comment(comment="hey", object_id=friends_only.id, object_type="activity")


def _notifications(client, user):
    return notification_activities(client, user)


def test_notifications_for_comments_replies_and_reactions(client, make_users):
    alice, bob, carol = make_users("alice", "bob", "carol")
    post = _post(client, alice)
    c = client.feeds.add_comment(comment="nice", object_id=post.id, object_type="activity", user_id=bob,
                                 create_notification_activity=True, mentioned_user_ids=[carol],
                                 custom={"k": 1}, copy_custom_to_notification=True).data
    assert c.notification_created is True and c.mention_notifications_created == 1
    reply = client.feeds.add_comment(comment="thx", parent_id=c.comment.id, user_id=alice,
                                     create_notification_activity=True).data
    for _ in range(2):  # a repeat inside the deduplication window is not notified twice
        client.feeds.add_activity_reaction(activity_id=post.id, type="like", user_id=carol,
                                           create_notification_activity=True)
    client.feeds.add_comment_reaction(id=c.comment.id, type="upvote", user_id=carol,
                                      create_notification_activity=True)

    to_alice = _notifications(client, alice)
    assert sorted(n["type"] for n in to_alice) == ["comment", "reaction"]
    comment_note = next(n for n in to_alice if n["type"] == "comment")
    assert comment_note["notification_context"]["target"]["id"] == post.id and comment_note["custom"] == {"k": 1}
    to_bob = _notifications(client, bob)
    assert sorted(n["type"] for n in to_bob) == ["comment_reaction", "comment_reply"]
    assert [n["type"] for n in _notifications(client, carol)] == ["mention"]

    client.feeds.delete_comment(id=c.comment.id, delete_notification_activity=True)
    assert [n["type"] for n in _notifications(client, alice)] == ["reaction"]
    assert _notifications(client, carol) == []
    client.feeds.delete_activity_reaction(activity_id=post.id, type="like", user_id=carol,
                                          delete_notification_activity=True)
    assert _notifications(client, alice) == []
    assert reply.notification_created is True


def test_concurrent_reactions_and_comments_leave_exact_counts(client, make_users):
    users = make_users(*[f"c{i}" for i in range(50)])
    post = _post(client, users[0])
    target = _comment(client, post.id, users[0], "vote on me")

    def act(i_user):
        i, user = i_user
        client.feeds.add_activity_reaction(activity_id=post.id, type="like", user_id=user)
        client.feeds.add_comment_reaction(id=target.id, type="upvote", user_id=user)
        _comment(client, post.id, user, f"comment {i}")
        if i % 2:
            client.feeds.delete_activity_reaction(activity_id=post.id, type="like", user_id=user)
            client.feeds.delete_comment_reaction(id=target.id, type="upvote", user_id=user)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(act, enumerate(users)))
    activity = raw(client.feeds.get_activity(id=post.id))["activity"]
    assert activity["reaction_count"] == 25 and activity["reaction_groups"]["like"]["count"] == 25
    assert activity["comment_count"] == 51
    got = client.feeds.get_comment(id=target.id).data.comment
    assert (got.upvote_count, got.reaction_count, got.score) == (25, 25, 25)


@pytest.mark.parametrize("call, status, code", [
    (lambda c, p, x: c.feeds.add_comment(comment="x", object_type="activity", user_id=x), 400, 4),
    (lambda c, p, x: c.feeds.add_comment(comment="x", object_id="nope-" + uid(), object_type="activity",
                                         user_id=x), 404, 16),
    (lambda c, p, x: c.feeds.add_comment(comment="x", parent_id="nope-" + uid(), user_id=x), 404, 16),
    (lambda c, p, x: c.feeds.add_comment(object_id=p, object_type="activity", user_id=x), 400, 4),
    (lambda c, p, x: c.feeds.get_comments(object_id=p, object_type="activity", depth=6), 400, 4),
    (lambda c, p, x: c.feeds.get_comments(object_id=p, object_type="activity", sort="random"), 400, 4),
    (lambda c, p, x: c.feeds.get_comment(id="nope-" + uid()), 404, 16),
    (lambda c, p, x: c.feeds.add_comment_reaction(id="nope-" + uid(), type="upvote", user_id=x), 404, 16),
    (lambda c, p, x: c.feeds.update_comment_partial(id="nope-" + uid(), set={"text": "x"}), 404, 16),
])
def test_bad_comment_input(client, make_users, call, status, code):
    alice = make_users("alice")
    post = _post(client, alice)
    with api_error(status, code):
        call(client, post.id, alice)


def test_batch_query_reactions(client, make_users, user_client):
    alice, bob = make_users("alice", "bob")
    posts = [_post(client, alice) for _ in range(3)]
    comment = _comment(client, posts[0].id, alice)
    for p in posts[:2]:
        client.feeds.add_activity_reaction(activity_id=p.id, type="like", user_id=bob)
    client.feeds.add_activity_reaction(activity_id=posts[2].id, type="like", user_id=alice)
    client.feeds.add_comment_reaction(id=comment.id, type="upvote", user_id=bob)
    ids = [p.id for p in posts]
    got = client.feeds.batch_query_activity_reactions(activity_ids=ids, user_id=bob).data.reactions
    assert sorted(r.activity_id for r in got) == sorted(ids[:2])
    assert len(client.feeds.batch_query_activity_reactions(activity_ids=ids).data.reactions) == 3
    mine = user_client(alice).feeds.batch_query_activity_reactions(activity_ids=ids).data.reactions
    assert [r.activity_id for r in mine] == [ids[2]]
    votes = client.feeds.batch_query_comment_reactions(comment_ids=[comment.id], filter={"reaction_type": "upvote"})
    assert [r.comment_id for r in votes.data.reactions] == [comment.id]
    with api_error(400, 4):
        client.feeds.batch_query_activity_reactions(activity_ids=[])
