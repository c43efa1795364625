"""Bookmarks and folders through the SDK: bookmark activities and comments,
create folders on the way, move between folders and out of them, several
folders for one activity, counts and own bookmarks on reads, queries with
exact ids, user-token isolation, and bad input."""

from getstream.models import AddFolderRequest, SortParamRequest

from sdkhelpers import api_error, raw


def _post(client, author):
    return client.feeds.add_activity(type="post", feeds=[f"user:{author}"], user_id=author, text="p").data.activity


def test_bookmark_folders_and_moves(client, make_users):
    alice, bob = make_users("alice", "bob")
    post = _post(client, alice)
    loose = raw(client.feeds.add_bookmark(activity_id=post.id, user_id=bob, custom={"note": "later"}))["bookmark"]
    assert loose["object_id"] == post.id and loose["object_type"] == "activity" and "folder" not in loose
    assert loose["activity"]["id"] == post.id and loose["user"]["id"] == bob and loose["custom"] == {"note": "later"}

    filed = raw(client.feeds.add_bookmark(activity_id=post.id, user_id=bob,
                                          new_folder=AddFolderRequest(name="Recipes", custom={"c": 1})))["bookmark"]
    recipes = filed["folder"]
    assert recipes["name"] == "Recipes" and recipes["user"]["id"] == bob
    with api_error(400, 4):  # the same placement twice
        client.feeds.add_bookmark(activity_id=post.id, user_id=bob, folder_id=recipes["id"])

    got = raw(client.feeds.get_activity(id=post.id, user_id=bob))["activity"]
    assert got["bookmark_count"] == 2
    assert sorted(b.get("folder", {}).get("name", "") for b in got["own_bookmarks"]) == ["", "Recipes"]
    assert got["own_bookmarks"][0]["activity"]["id"] == post.id
    assert raw(client.feeds.get_activity(id=post.id, user_id=alice))["activity"]["own_bookmarks"] == []

    # Move the loose one into a new folder, then back out.
    moved = raw(client.feeds.update_bookmark(activity_id=post.id, user_id=bob,
                                             new_folder=AddFolderRequest(name="Travel")))["bookmark"]
    travel = moved["folder"]["id"]
    assert moved["custom"] == {"note": "later"} and moved["created_at"] == loose["created_at"]
    out = raw(client.feeds.update_bookmark(activity_id=post.id, user_id=bob, folder_id=travel, new_folder_id="",
                                           custom={"note": "done"}))["bookmark"]
    assert "folder" not in out and out["custom"] == {"note": "done"}
    client.feeds.update_bookmark(activity_id=post.id, user_id=bob, new_folder_id=travel)

    folders = client.feeds.query_bookmark_folders(filter={"user_id": bob},
                                                  sort=[SortParamRequest(field="created_at", direction=1)])
    assert [f.name for f in folders.data.bookmark_folders] == ["Recipes", "Travel"]
    assert [f.name for f in client.feeds.query_bookmark_folders(
        filter={"user_id": bob, "folder_name": {"$contains": "cip"}}).data.bookmark_folders] == ["Recipes"]
    renamed = client.feeds.update_bookmark_folder(folder_id=travel, name="Trips").data.bookmark_folder
    assert renamed.name == "Trips"

    client.feeds.delete_bookmark_folder(folder_id=recipes["id"])  # takes its bookmark with it
    left = client.feeds.query_bookmarks(filter={"user_id": bob}).data.bookmarks
    assert [(b.object_id, b.folder.name) for b in left] == [(post.id, "Trips")]
    gone = raw(client.feeds.delete_bookmark(activity_id=post.id, user_id=bob, folder_id=travel))["bookmark"]
    assert gone["folder"]["id"] == travel
    assert raw(client.feeds.get_activity(id=post.id))["activity"]["bookmark_count"] == 0


def test_comment_bookmarks_and_queries(client, make_users, user_client):
    alice, bob = make_users("alice", "bob")
    a, b = _post(client, alice), _post(client, alice)
    comment = client.feeds.add_comment(comment="keep", object_id=a.id, object_type="activity", user_id=alice).data.comment
    kept = raw(client.feeds.add_comment_bookmark(comment_id=comment.id, user_id=bob))["bookmark"]
    assert kept["object_type"] == "comment" and kept["comment"]["id"] == comment.id and kept["activity"]["id"] == a.id
    assert client.feeds.get_comment(id=comment.id).data.comment.bookmark_count == 1
    folder = raw(client.feeds.add_bookmark(activity_id=b.id, user_id=bob,
                                           new_folder=AddFolderRequest(name="Later")))["bookmark"]["folder"]["id"]
    client.feeds.add_bookmark(activity_id=a.id, user_id=alice)

    q = lambda flt, **kw: [(x.object_type, x.object_id) for x in client.feeds.query_bookmarks(
        filter=flt, limit=100, **kw).data.bookmarks]
    assert q({"user_id": bob}) == [("activity", b.id), ("comment", comment.id)]
    assert q({"user_id": bob, "object_type": "comment"}) == [("comment", comment.id)]
    assert q({"user_id": bob, "folder_id": folder}) == [("activity", b.id)]
    assert q({"user_id": bob, "folder_id": {"$exists": False}}) == [("comment", comment.id)]
    assert q({"activity_id": a.id}, sort=[SortParamRequest(field="created_at", direction=1)]) == [
        ("comment", comment.id), ("activity", a.id)]
    mine = user_client(alice).feeds.query_bookmarks().data.bookmarks  # a user token sees its own only
    assert [(x.object_id, x.user.id) for x in mine] == [(a.id, alice)]
    with api_error(404, 16):  # another user's folder is not theirs to use
        user_client(alice).feeds.add_bookmark(activity_id=a.id, folder_id=folder)
    client.feeds.update_comment_bookmark(comment_id=comment.id, user_id=bob, new_folder_id=folder)
    # A move keeps the bookmark's created_at, so it stays behind the newer one.
    assert q({"user_id": bob, "folder_id": folder}) == [("activity", b.id), ("comment", comment.id)]
    client.feeds.delete_comment_bookmark(comment_id=comment.id, user_id=bob, folder_id=folder)
    assert q({"user_id": bob}) == [("activity", b.id)]


def test_bookmark_bad_input(client, make_users):
    alice = make_users("alice")
    post = _post(client, alice)
    with api_error(404, 16):
        client.feeds.add_bookmark(activity_id="missing-activity", user_id=alice)
    with api_error(404, 16):
        client.feeds.add_bookmark(activity_id=post.id, user_id=alice, folder_id="missing-folder")
    with api_error(400, 4):
        client.feeds.add_bookmark(activity_id=post.id, user_id=alice, new_folder=AddFolderRequest(name=""))
    with api_error(404, 16):
        client.feeds.update_bookmark(activity_id=post.id, user_id=alice, custom={"x": 1})
    with api_error(404, 16):
        client.feeds.delete_bookmark(activity_id=post.id, user_id=alice)
    with api_error(404, 16):
        client.feeds.delete_bookmark_folder(folder_id="missing-folder")
    with api_error(400, 4):
        client.feeds.query_bookmarks(filter={"color": "red"})


def test_bookmarks_follow_their_activity(client, make_users):
    alice, bob = make_users("alice", "bob")
    soft, hard = _post(client, alice), _post(client, alice)
    comment = client.feeds.add_comment(comment="c", object_id=hard.id, object_type="activity", user_id=bob).data.comment
    for p in (soft, hard):
        client.feeds.add_bookmark(activity_id=p.id, user_id=bob)
    client.feeds.add_comment_bookmark(comment_id=comment.id, user_id=bob)
    mine = lambda: sorted(b.object_id for b in client.feeds.query_bookmarks(filter={"user_id": bob}).data.bookmarks)
    assert mine() == sorted([soft.id, hard.id, comment.id])
    client.feeds.delete_activity(id=soft.id)
    assert mine() == sorted([hard.id, comment.id])
    client.feeds.restore_activity(id=soft.id)
    assert mine() == sorted([soft.id, hard.id, comment.id])
    client.feeds.delete_activity(id=hard.id, hard_delete=True)  # takes its comments and bookmarks along
    assert mine() == [soft.id]
    with api_error(404, 16):
        client.feeds.get_comment(id=comment.id)
