"""GDPR requests through the SDK: export_feed_user_data as a task whose
result links to a complete JSON export of every kind of the user's data,
served from an unguessable link; delete_feed_user_data (hard and soft) after
which no read returns the user's data while other users' data and every
counter stay right; delete_users honouring the same rules; the user's uploads
listed in the export and deleted with the data, other users' left."""

import base64

import httpx
import pytest
from getstream.models import (
    AddFolderRequest,
    CollectionRequest,
    FeedMemberRequest,
    ImageSize,
    OnlyUserID,
    PollOptionInput,
    VoteData,
)

from sdkhelpers import api_error, raw, uid, wait_task


def populate(client, alice, bob):
    """Every kind of data alice can have, around data of bob's."""
    feeds = client.feeds
    feeds.feed("user", alice).get_or_create(user_id=alice)
    feeds.feed("user", bob).get_or_create(user_id=bob)
    feeds.feed("timeline", alice).get_or_create(user_id=alice)
    feeds.feed("timeline", bob).get_or_create(user_id=bob)
    mine = feeds.add_activity(type="post", feeds=[f"user:{alice}"], text="alice's", user_id=alice).data.activity
    theirs = feeds.add_activity(type="post", feeds=[f"user:{bob}"], text="bob's", user_id=bob).data.activity
    feeds.follow(source=f"timeline:{alice}", target=f"user:{bob}")
    feeds.follow(source=f"timeline:{bob}", target=f"user:{alice}")
    feeds.add_activity_reaction(activity_id=theirs.id, type="like", user_id=alice)
    feeds.add_activity_reaction(activity_id=theirs.id, type="like", user_id=bob)
    my_comment = feeds.add_comment(comment="hi bob", object_id=theirs.id, object_type="activity",
                                   user_id=alice).data.comment
    bobs_comment = feeds.add_comment(comment="bob here", object_id=theirs.id, object_type="activity",
                                     user_id=bob).data.comment
    feeds.add_comment_reaction(id=bobs_comment.id, type="upvote", user_id=alice)
    bookmark = raw(feeds.add_bookmark(activity_id=theirs.id, user_id=alice,
                                      new_folder=AddFolderRequest(name="Saved")))["bookmark"]
    feeds.update_feed_members("user", bob, operation="upsert", members=[FeedMemberRequest(user_id=alice)])
    collection = uid("things")
    feeds.create_collections(collections=[CollectionRequest(name=collection, id="c1", custom={"k": 1},
                                                            user_id=alice)])
    poll = client.create_poll(name="Lunch?", user_id=bob, options=[
        PollOptionInput(text="pizza"), PollOptionInput(text="sushi")]).data.poll
    poll_post = feeds.add_activity(type="poll", feeds=[f"user:{bob}"], poll_id=poll.id, user_id=bob).data.activity
    vote = raw(feeds.cast_poll_vote(activity_id=poll_post.id, poll_id=poll.id, user_id=alice,
                                    vote=VoteData(option_id=poll.options[0].id)))["vote"]
    # Alice watched a story of bob's; bob watched his own.
    feeds.feed("story", bob).get_or_create(user_id=bob)
    feeds.feed("stories", alice).get_or_create(user_id=alice)
    story = feeds.add_activity(type="story", feeds=[f"story:{bob}"], user_id=bob, text="bob's story",
                               expires_at="2099-01-01T00:00:00Z").data.activity
    feeds.feed("stories", alice).mark_activity(user_id=alice, mark_watched=[story.id])
    feeds.feed("story", bob).mark_activity(user_id=bob, mark_watched=[story.id])
    return {
        "story": story,
        "mine": mine, "theirs": theirs, "my_comment": my_comment, "bobs_comment": bobs_comment,
        "folder": bookmark["folder"]["id"], "collection": collection, "poll": poll, "poll_post": poll_post,
        "vote": vote,
    }


def download(url):
    resp = httpx.get(url, timeout=15.0)
    assert resp.status_code == 200, resp.text[:300]
    assert resp.headers["content-type"].startswith("application/json")
    return resp.json()


def test_export_round_trips_every_kind_of_user_data(client, make_users):
    alice, bob = make_users("alice", "bob")
    d = populate(client, alice, bob)
    task_id = client.feeds.export_feed_user_data(user_id=alice).data.task_id
    result = raw(wait_task(client, task_id, timeout=30))["result"]
    assert result["user_id"] == alice and isinstance(result["expires_at"], int)
    export = download(result["url"])

    assert export["user_id"] == alice and export["user"]["id"] == alice and export["user"]["name"] == "alice"
    assert sorted(f["fid"] for f in export["feeds"]) == sorted(
        [f"user:{alice}", f"timeline:{alice}", f"stories:{alice}"])
    assert [a["id"] for a in export["activities"]] == [d["mine"].id]
    assert export["activities"][0]["text"] == "alice's"
    assert [(r["activity_id"], r["type"]) for r in export["activity_reactions"]] == [(d["theirs"].id, "like")]
    assert [(c["id"], c["text"]) for c in export["comments"]] == [(d["my_comment"].id, "hi bob")]
    assert [(r["comment_id"], r["type"]) for r in export["comment_reactions"]] == [(d["bobs_comment"].id, "upvote")]
    assert [(f["id"], f["name"]) for f in export["bookmark_folders"]] == [(d["folder"], "Saved")]
    assert [(b["object_id"], b["folder_id"]) for b in export["bookmarks"]] == [(d["theirs"].id, d["folder"])]
    assert [(f["source"], f["target"]) for f in export["follows"]] == [(f"timeline:{alice}", f"user:{bob}")]
    assert [(f["source"], f["target"]) for f in export["followers"]] == [(f"timeline:{bob}", f"user:{alice}")]
    assert [(m["fid"], m["user_id"]) for m in export["memberships"]] == [(f"user:{bob}", alice)]
    assert [(c["name"], c["id"], c["custom"]) for c in export["collections"]] == [(d["collection"], "c1", {"k": 1})]
    assert [(v["poll_id"], v["id"]) for v in export["poll_votes"]] == [(d["poll"].id, d["vote"]["id"])]
    assert [w["activity_id"] for w in export["story_watches"]] == [d["story"].id]
    assert isinstance(export["story_watches"][0]["watched_at"], int)
    assert result["counts"]["activities"] == 1 and result["counts"]["poll_votes"] == 1

    # The link is the credential: an altered one is a 404 APIError.
    base, token = result["url"].rsplit("/", 1)
    forged = f"{base}/{token[:-2]}{'AA' if token[-2:] != 'AA' else 'BB'}"
    resp = httpx.get(forged, timeout=15.0)
    assert resp.status_code == 404 and resp.json()["code"] == 16


def test_export_of_a_user_without_data_is_empty_not_an_error(client, make_users):
    lonely = make_users("lonely")
    task_id = client.feeds.export_feed_user_data(user_id=lonely).data.task_id
    export = download(raw(wait_task(client, task_id, timeout=30))["result"]["url"])
    assert export["user"]["id"] == lonely and export["activities"] == [] and export["followers"] == []


def bob_still_has_his_data(client, alice, bob, d):
    feeds = client.feeds
    theirs = raw(feeds.get_activity(id=d["theirs"].id))["activity"]
    assert theirs["text"] == "bob's"
    assert theirs["reaction_groups"]["like"]["count"] == 1
    assert [r["user"]["id"] for r in theirs["latest_reactions"]] == [bob]
    assert theirs["comment_count"] == 1 and theirs["bookmark_count"] == 0
    comments = raw(feeds.get_comments(object_id=d["theirs"].id, object_type="activity"))["comments"]
    comments = [c for c in comments if c["user"]["id"] == bob]
    assert [c["id"] for c in comments] == [d["bobs_comment"].id]
    assert comments[0]["reaction_count"] == 0 and comments[0]["upvote_count"] == 0
    poll = raw(feeds.get_activity(id=d["poll_post"].id))["activity"]["poll"]
    assert poll["vote_count"] == 0
    bob_feed = raw(feeds.feed("user", bob).get_or_create(user_id=bob))["feed"]
    assert bob_feed["follower_count"] == 0 and bob_feed["member_count"] == 0
    members = feeds.query_feed_members(feed_group_id="user", feed_id=bob).data.members
    assert members == [] or alice not in [m.user.id for m in members]
    timeline = raw(feeds.feed("timeline", bob).get_or_create(user_id=bob))
    assert timeline["feed"]["following_count"] == 0
    assert d["mine"].id not in [a["id"] for a in timeline["activities"]]


def nothing_of_alice_is_read(client, alice, d, hard=True):
    feeds = client.feeds
    assert feeds.query_bookmarks(filter={"user_id": alice}).data.bookmarks == []
    assert feeds.query_bookmark_folders(filter={"user_id": alice}).data.bookmark_folders == []
    assert feeds.query_follows(filter={"source_feed": f"timeline:{alice}"}).data.follows == []
    comments = raw(feeds.query_comments(filter={"user_id": alice}))["comments"]
    if hard:
        assert comments == []
    else:
        # Soft: her comment keeps its place in the thread, emptied.
        assert [(c["id"], c["status"], c.get("text") or "") for c in comments] == [
            (d["my_comment"].id, "deleted", "")]
    assert feeds.read_collections(collection_refs=[f"{d['collection']}:c1"]).data.collections == []
    assert client.query_poll_votes(poll_id=d["poll"].id).data.votes == []
    found = feeds.query_activities(filter={"user_id": alice}).data.activities
    assert found == []
    with api_error(404, 16):
        feeds.get_activity(id=d["mine"].id)


def test_hard_delete_removes_every_record_and_keeps_others_and_counters(client, make_users):
    alice, bob = make_users("alice", "bob")
    d = populate(client, alice, bob)
    task_id = client.feeds.delete_feed_user_data(user_id=alice, hard_delete=True).data.task_id
    result = raw(wait_task(client, task_id, timeout=30))["result"]
    assert result["hard_delete"] is True and result["deleted"]["activities"] == 1
    nothing_of_alice_is_read(client, alice, d)
    bob_still_has_his_data(client, alice, bob, d)
    # Her feeds are gone; her profile is not (DeleteFeedUserData leaves users).
    got = client.feeds.query_feeds(filter={"created_by_id": alice}).data.feeds
    assert got == []
    assert [u.id for u in client.query_users(payload={"filter_conditions": {"id": alice}}).data.users] == [alice]

    # An export made after the deletion holds nothing of hers.
    export_id = client.feeds.export_feed_user_data(user_id=alice).data.task_id
    export = download(raw(wait_task(client, export_id, timeout=30))["result"]["url"])
    assert all(export[k] == [] for k in ("feeds", "activities", "comments", "bookmarks", "follows", "followers",
                                         "story_watches"))
    assert result["deleted"]["story_watches"] == 1
    # Bob's mark of his own story stays.
    bobs = raw(client.feeds.feed("story", bob).get_or_create(user_id=bob))["activities"]
    assert [(a["id"], a.get("is_watched")) for a in bobs] == [(d["story"].id, True)]


def test_soft_delete_hides_content_and_removes_relations(client, make_users):
    alice, bob = make_users("alice", "bob")
    d = populate(client, alice, bob)
    task_id = client.feeds.delete_feed_user_data(user_id=alice).data.task_id
    result = raw(wait_task(client, task_id, timeout=30))["result"]
    assert result["hard_delete"] is False
    nothing_of_alice_is_read(client, alice, d, hard=False)
    bob_still_has_his_data(client, alice, bob, d)
    # Soft-deleted content can still be restored server-side, like any soft delete.
    restored = client.feeds.restore_activity(id=d["mine"].id).data.activity
    assert restored.id == d["mine"].id


def test_user_data_requests_are_server_only_and_validate_the_user(client, user_client, make_users, http,
                                                                   server_token):
    alice = make_users("alice")
    with api_error(403, 17):
        user_client(alice).feeds.delete_feed_user_data(user_id=alice)
    with api_error(403, 17):
        user_client(alice).feeds.export_feed_user_data(user_id=alice)
    with api_error(400, 4):
        client.feeds.delete_feed_user_data(user_id="bad id!")
    with api_error(400, 4) as e:
        client.feeds.delete_feed_user_data(user_id=alice, hard_delete="yes")
    assert "hard_delete" in e.value.message


def test_delete_users_hard_removes_the_feed_data_too(client, make_users):
    alice, bob = make_users("alice", "bob")
    d = populate(client, alice, bob)
    task_id = client.delete_users(user_ids=[alice], user="hard").data.task_id
    wait_task(client, task_id, timeout=30)
    nothing_of_alice_is_read(client, alice, d)
    bob_still_has_his_data(client, alice, bob, d)
    assert client.query_users(payload={"filter_conditions": {"id": alice}}).data.users == []


def test_delete_users_soft_keeps_the_data(client, make_users):
    alice, bob = make_users("alice", "bob")
    d = populate(client, alice, bob)
    task_id = client.delete_users(user_ids=[alice]).data.task_id
    wait_task(client, task_id, timeout=30)
    assert client.feeds.get_activity(id=d["mine"].id).data.activity.id == d["mine"].id


def test_unknown_export_link_is_404(server):
    resp = httpx.get(f"{server.base_url}/api/v2/feeds/user_data_exports/nonsense", timeout=15.0)
    assert resp.status_code == 404 and resp.json()["code"] == 16


@pytest.mark.parametrize("hard", [True, False])
def test_delete_of_a_user_without_data_completes(client, make_users, hard):
    nobody = make_users("nobody")
    task_id = client.feeds.delete_feed_user_data(user_id=nobody, hard_delete=hard).data.task_id
    assert raw(wait_task(client, task_id, timeout=30))["result"]["deleted"]["activities"] == 0


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
)


def test_uploads_are_exported_and_deleted_with_the_users_data(client, make_users, tmp_path):
    alice, bob = make_users("alice", "bob")
    picture, notes = tmp_path / "me.png", tmp_path / "notes.txt"
    picture.write_bytes(PNG)
    notes.write_text("alice's notes")
    image = client.upload_image(file=str(picture), user=OnlyUserID(id=alice),
                                upload_sizes=[ImageSize(width=4, height=4)]).data
    doc = client.upload_file(file=str(notes), user=OnlyUserID(id=alice)).data
    bobs = client.upload_file(file=str(notes), user=OnlyUserID(id=bob)).data

    task_id = client.feeds.export_feed_user_data(user_id=alice).data.task_id
    result = raw(wait_task(client, task_id, timeout=30))["result"]
    assert result["counts"]["uploads"] == 2
    uploads = download(result["url"])["uploads"]
    assert [(u["url"], u["name"], u["mime_type"], u["size"]) for u in uploads] == [
        (image.file, "me.png", "image/png", len(PNG)), (doc.file, "notes.txt", "text/plain", 13)]
    assert all(isinstance(u["created_at"], int) for u in uploads)

    task_id = client.feeds.delete_feed_user_data(user_id=alice, hard_delete=True).data.task_id
    assert raw(wait_task(client, task_id, timeout=30))["result"]["deleted"]["uploads"] == 2
    for url in (image.file, image.thumb_url, doc.file):
        assert httpx.get(url).status_code == 404, url
    assert httpx.get(bobs.file).text == "alice's notes"
    export_id = client.feeds.export_feed_user_data(user_id=alice).data.task_id
    assert download(raw(wait_task(client, export_id, timeout=30))["result"]["url"])["uploads"] == []

    task_id = client.delete_users(user_ids=[bob], user="hard").data.task_id
    wait_task(client, task_id, timeout=30)
    assert httpx.get(bobs.file).status_code == 404
