"""The visibility matrix: for each feed visibility level and each kind of
caller, which reads, follows and posts succeed. docs/visibility.md holds
the same table; this test is its proof on each store.

Cells: "ok" (allowed), "403" (refused), and for follows the status the
follow gets ("accepted" or "pending")."""

from getstream.exceptions import StreamApiException
from getstream.models import FeedInput, FeedMemberRequest

from sdkhelpers import fid

ACTORS = ["owner", "follower", "pending", "member", "stranger", "server"]

# level -> action -> one cell per actor, in ACTORS order.
EXPECTED = {
    "public": {
        "read": ["ok", "ok", "ok", "ok", "ok", "ok"],
        "post": ["ok", "ok", "ok", "ok", "ok", "ok"],
        "follow": ["accepted", "accepted", "pending", "accepted", "accepted", "accepted"],
    },
    "visible": {
        "read": ["ok", "ok", "ok", "ok", "ok", "ok"],
        "post": ["ok", "403", "403", "ok", "403", "ok"],
        "follow": ["accepted", "accepted", "pending", "accepted", "accepted", "accepted"],
    },
    "followers": {
        "read": ["ok", "ok", "403", "ok", "403", "ok"],
        "post": ["ok", "403", "403", "ok", "403", "ok"],
        "follow": ["pending", "accepted", "pending", "accepted", "pending", "pending"],
    },
    "members": {
        "read": ["ok", "403", "403", "ok", "403", "ok"],
        "post": ["ok", "403", "403", "ok", "403", "ok"],
        "follow": ["accepted", "403", "403", "accepted", "403", "accepted"],
    },
    "private": {
        "read": ["ok", "403", "403", "403", "403", "ok"],
        "post": ["ok", "403", "403", "403", "403", "ok"],
        "follow": ["accepted", "403", "403", "403", "403", "accepted"],
    },
}


def _outcome(call):
    try:
        result = call()
    except StreamApiException as e:
        assert (e.status_code, e.code) == (403, 17), f"unexpected {e.status_code}/{e.code}: {e.message}"
        return "403"
    return result or "ok"


def _try(call):
    """"ok" or "403" for a call whose result does not matter."""
    return _outcome(lambda: call() and None)


def _world(client, make_users, level):
    owner, follower, pending, member, stranger, outsider = make_users(
        "owner", "follower", "pending", "member", "stranger", "outsider")
    client.feeds.feed("user", owner).get_or_create(user_id=owner, data=FeedInput(visibility=level))
    target = fid("user", owner)
    for u in (owner, follower, pending, member, stranger, outsider):
        client.feeds.feed("timeline", u).get_or_create(user_id=u)
    # Server-side follows may set their status directly.
    client.feeds.follow(source=fid("timeline", follower), target=target, status="accepted")
    client.feeds.follow(source=fid("timeline", pending), target=target, status="pending")
    client.feeds.update_feed_members("user", owner, operation="upsert", members=[FeedMemberRequest(user_id=member)])
    return target, {"owner": owner, "follower": follower, "pending": pending, "member": member,
                    "stranger": stranger, "server": outsider}


def _row(client, user_client, target, who, actor):
    group, owner = target.split(":")
    feeds = client.feeds if actor == "server" else user_client(who).feeds
    as_user = {"user_id": who} if actor == "server" else {}

    def read():
        feeds.feed(group, owner).get_or_create(**as_user)

    def post():
        feeds.add_activity(type="post", feeds=[target], text=f"by {actor}", **as_user)

    def follow():
        return feeds.get_or_create_follow(source=fid("timeline", who), target=target).data.follow.status

    # The follow goes last: it can change the caller's standing.
    return {"read": _outcome(read), "post": _outcome(post), "follow": _outcome(follow)}


def test_visibility_matrix(client, user_client, make_users):
    seen = {}
    for level in EXPECTED:
        target, users = _world(client, make_users, level)
        rows = {actor: _row(client, user_client, target, users[actor], actor) for actor in ACTORS}
        seen[level] = {action: [rows[a][action] for a in ACTORS] for action in ("read", "post", "follow")}
    assert seen == EXPECTED


def test_activities_of_closed_feeds_stay_closed(client, user_client, make_users):
    owner, member, stranger = make_users("owner", "member", "stranger")
    client.feeds.feed("user", owner).get_or_create(user_id=owner, data=FeedInput(visibility="members"))
    client.feeds.update_feed_members("user", owner, operation="upsert", members=[FeedMemberRequest(user_id=member)])
    secret = client.feeds.add_activity(type="post", feeds=[fid("user", owner)], user_id=owner,
                                       text="members only " + owner).data.activity.id
    # GetActivity: members read it, strangers are refused.
    assert user_client(member).feeds.get_activity(secret).data.activity.id == secret
    assert _try(lambda: user_client(stranger).feeds.get_activity(secret)) == "403"
    # QueryActivities finds it only for those who may read its feed.
    flt = {"text": {"$q": owner}}

    def found(c):
        return [a.id for a in c.feeds.query_activities(filter=flt).data.activities]

    assert found(user_client(member)) == [secret]
    assert found(user_client(stranger)) == []
    assert found(client) == [secret]
    # Comments and reactions need the feed's grants too.
    assert _try(lambda: user_client(stranger).feeds.add_activity_reaction(secret, type="like")) == "403"
    assert _try(lambda: user_client(stranger).feeds.add_comment(comment="hi", object_id=secret,
                                                                      object_type="activity")) == "403"
    assert _try(lambda: user_client(member).feeds.add_activity_reaction(secret, type="like")) == "ok"


def test_feed_owner_deletes_what_others_post_to_their_feed(client, user_client, make_users):
    owner, member, stranger = make_users("owner", "member", "stranger")
    client.feeds.feed("user", owner).get_or_create(user_id=owner, data=FeedInput(visibility="public"))
    by_stranger = user_client(stranger).feeds.add_activity(type="post", feeds=[fid("user", owner)],
                                                           text="spam").data.activity.id
    assert _try(lambda: user_client(member).feeds.delete_activity(by_stranger)) == "403"
    assert _try(lambda: user_client(owner).feeds.delete_activity(by_stranger)) == "ok"


def test_lists_follow_the_configured_grants(client, user_client, make_users):
    owner, stranger = make_users("owner", "stranger")
    client.feeds.feed("user", owner).get_or_create(user_id=owner, data=FeedInput(visibility="members"))
    post = client.feeds.add_activity(type="post", feeds=[fid("user", owner)], user_id=owner,
                                     text="club news " + owner).data.activity.id
    as_stranger = user_client(stranger).feeds

    def visible():
        feeds = [f.feed for f in as_stranger.query_feeds(filter={"feed": fid("user", owner)}).data.feeds]
        acts = [a.id for a in as_stranger.query_activities(filter={"text": {"$q": owner}}).data.activities]
        return feeds, acts, _try(lambda: as_stranger.feed("user", owner).get_or_create())

    assert visible() == ([], [], "403")
    # Grant every user reading on `members` feeds: lists and single reads agree.
    client.feeds.update_feed_visibility("members", grants={"user": ["read-feed", "read-activities"]})
    try:
        assert visible() == ([fid("user", owner)], [post], "ok")
    finally:
        client.feeds.update_feed_visibility("members", grants={"user": []})
    assert visible() == ([], [], "403")


def test_query_follows_shows_user_tokens_only_follows_of_feeds_they_may_see(client, user_client, make_users):
    hermit, fan, stranger = make_users("hermit", "fan", "stranger")
    client.feeds.feed("user", hermit).get_or_create(user_id=hermit, data=FeedInput(visibility="private"))
    client.feeds.feed("user", fan).get_or_create(user_id=fan, data=FeedInput(visibility="private"))
    client.feeds.follow(source=fid("user", fan), target=fid("user", hermit), status="accepted")

    def seen(c):
        return [f.source_feed.feed for f in c.feeds.query_follows(filter={"target_feed": fid("user", hermit)})
                .data.follows]

    assert seen(client) == [fid("user", fan)]
    assert seen(user_client(hermit)) == [fid("user", fan)]  # their own feed
    assert seen(user_client(fan)) == [fid("user", fan)]  # their own follow
    assert seen(user_client(stranger)) == []


def test_suggestions_are_feeds_the_user_may_follow(client, make_users):
    from sdkhelpers import uid

    a, b, c, me = make_users("a", "b", "c", "me")
    g = uid("grp")
    client.feeds.create_feed_group(id=g)
    for owner, level in ((a, "visible"), (b, "members"), (c, "followers")):
        client.feeds.feed(g, owner).get_or_create(user_id=owner, data=FeedInput(visibility=level))

    def suggested():
        found = client.feeds.get_follow_suggestions(g, user_id=me, limit=10).data.suggestions
        return sorted(s.id for s in found)

    assert suggested() == sorted([a, c])
    client.feeds.update_feed_members(g, b, operation="upsert", members=[FeedMemberRequest(user_id=me)])
    assert suggested() == sorted([a, b, c])


def test_a_follower_role_opens_lists_as_it_opens_reads(client, user_client, make_users):
    owner, insider, outsider = make_users("owner", "insider", "outsider")
    client.feeds.feed("user", owner).get_or_create(user_id=owner, data=FeedInput(visibility="members"))
    post = client.feeds.add_activity(type="post", feeds=[fid("user", owner)], user_id=owner,
                                     text="inner circle " + owner).data.activity.id
    for u in (insider, outsider):
        client.feeds.follow(source=fid("timeline", u), target=fid("user", owner), status="accepted")
    # Accepted with the member role, the insider's follow grants what members get.
    client.feeds.update_follow(source=fid("timeline", insider), target=fid("user", owner), follower_role="feed_member")

    def sees(user):
        c = user_client(user).feeds
        feeds = [f.feed for f in c.query_feeds(filter={"feed": fid("user", owner)}).data.feeds]
        acts = [a.id for a in c.query_activities(filter={"text": {"$q": owner}}).data.activities]
        return feeds, acts, _try(lambda: c.feed("user", owner).get_or_create())

    assert sees(insider) == ([fid("user", owner)], [post], "ok")
    assert sees(outsider) == ([], [], "403")
