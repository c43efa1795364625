"""Mentions: mentioned_users enrichment and, with create_notification_activity,
a `mention` notification in each mentioned user's notification feed."""

from sdkhelpers import notification_activities, raw


def test_mentions_create_notifications(client, make_users):
    alice, bob, carol = make_users("alice", "bob", "carol")
    resp = raw(client.feeds.add_activity(
        type="post", feeds=[f"user:{alice}"], text="hi @bob @carol", user_id=alice,
        mentioned_user_ids=[bob, carol, alice], create_notification_activity=True))
    assert resp["mention_notifications_created"] == 2
    activity = resp["activity"]
    assert [u["id"] for u in activity["mentioned_users"]] == [bob, carol, alice]
    assert activity["mentioned_users"][0]["name"] == "bob"

    notes = raw(client.feeds.feed("notification", bob).get_or_create(user_id=bob))
    assert notes["feed"]["created_by"]["id"] == bob
    items = notes["activities"] or [a for g in notes["aggregated_activities"] for a in g["activities"]]
    assert len(items) == 1
    note = items[0]
    assert note["type"] == "mention" and note["user"]["id"] == alice
    assert note["notification_context"]["trigger"]["type"] == "mention"
    assert note["notification_context"]["target"]["id"] == activity["id"]
    assert notification_activities(client, alice) == []


def test_mentions_without_the_flag_notify_nobody(client, make_users):
    alice, bob = make_users("alice", "bob")
    resp = raw(client.feeds.add_activity(
        type="post", feeds=[f"user:{alice}"], text="hi", user_id=alice, mentioned_user_ids=[bob]))
    assert resp.get("mention_notifications_created", 0) == 0
    assert notification_activities(client, bob) == []


def test_re_adding_with_more_mentions_notifies_only_the_new_ones(client, make_users):
    alice, bob, carol = make_users("alice", "bob", "carol")
    first = client.feeds.add_activity(type="post", feeds=[f"user:{alice}"], user_id=alice, mentioned_user_ids=[bob],
                                      create_notification_activity=True).data.activity
    again = raw(client.feeds.add_activity(id=first.id, type="post", feeds=[f"user:{alice}"], user_id=alice,
                                          mentioned_user_ids=[bob, carol], create_notification_activity=True))
    assert again["mention_notifications_created"] == 1
    assert len(notification_activities(client, bob)) == 1


def _notes(client, user):
    return [a["notification_context"]["target"]["id"]
            for a in notification_activities(client, user)]


def test_updates_handle_mention_notifications(client, make_users):
    alice, bob, carol = make_users("alice", "bob", "carol")
    post = client.feeds.add_activity(type="post", feeds=[f"user:{alice}"], user_id=alice, text="hi",
                                     mentioned_user_ids=[bob], create_notification_activity=True).data.activity
    assert _notes(client, bob) == [post.id]
    # Full update: carol is new (notified), bob is dropped (withdrawn).
    client.feeds.update_activity(id=post.id, user_id=alice, text="hi carol", mentioned_user_ids=[carol],
                                 handle_mention_notifications=True)
    assert _notes(client, bob) == []
    assert _notes(client, carol) == [post.id]
    # Partial update without the flag leaves notifications alone.
    client.feeds.update_activity_partial(id=post.id, user_id=alice, set={"mentioned_user_ids": [bob]})
    assert _notes(client, carol) == [post.id] and _notes(client, bob) == []
    # With the flag: bob is back, carol withdrawn.
    client.feeds.update_activity_partial(id=post.id, user_id=alice, set={"mentioned_user_ids": [bob, carol]},
                                         handle_mention_notifications=True)
    client.feeds.update_activity_partial(id=post.id, user_id=alice, set={"mentioned_user_ids": [bob]},
                                         handle_mention_notifications=True)
    assert _notes(client, carol) == []


def test_deletes_withdraw_mention_notifications_when_asked(client, make_users):
    alice, bob, carol = make_users("alice", "bob", "carol")

    def post():
        return client.feeds.add_activity(type="post", feeds=[f"user:{alice}"], user_id=alice, text="hi",
                                         mentioned_user_ids=[bob, carol], create_notification_activity=True).data.activity
    kept, single, first, second = post(), post(), post(), post()
    assert sorted(_notes(client, bob)) == sorted([kept.id, single.id, first.id, second.id])
    client.feeds.delete_activity(id=kept.id)
    client.feeds.delete_activity(id=single.id, delete_notification_activity=True)
    client.feeds.delete_activities(ids=[first.id, second.id], hard_delete=True, delete_notification_activity=True)
    assert _notes(client, bob) == [kept.id] and _notes(client, carol) == [kept.id]


def _note_customs(client, user):
    return [a["custom"] for a in notification_activities(client, user)]


def test_copy_custom_to_notification_on_activity_writes(client, make_users):
    alice, bob, carol = make_users("alice", "bob", "carol")
    post = client.feeds.add_activity(type="post", feeds=[f"user:{alice}"], user_id=alice, custom={"k": 1},
                                     mentioned_user_ids=[bob], create_notification_activity=True,
                                     copy_custom_to_notification=True).data.activity
    assert _note_customs(client, bob) == [{"k": 1}]
    client.feeds.update_activity_partial(id=post.id, user_id=alice, set={"mentioned_user_ids": [bob, carol]},
                                         handle_mention_notifications=True, copy_custom_to_notification=True)
    assert _note_customs(client, carol) == [{"k": 1}]


def test_partial_batch_handles_mention_notifications(client, make_users):
    from getstream.models import UpdateActivityPartialChangeRequest as Change
    alice, bob, carol = make_users("alice", "bob", "carol")
    post = client.feeds.add_activity(type="post", feeds=[f"user:{alice}"], user_id=alice, text="hi",
                                     mentioned_user_ids=[bob], create_notification_activity=True).data.activity
    client.feeds.update_activities_partial_batch(changes=[
        Change(activity_id=post.id, set={"mentioned_user_ids": [carol]}, handle_mention_notifications=True)])
    assert _notes(client, bob) == [] and _notes(client, carol) == [post.id]
    # Without the flag nothing changes.
    client.feeds.update_activities_partial_batch(changes=[
        Change(activity_id=post.id, set={"mentioned_user_ids": [bob]})])
    assert _notes(client, bob) == [] and _notes(client, carol) == [post.id]


def test_comment_updates_handle_mention_notifications(client, make_users):
    alice, bob, carol = make_users("alice", "bob", "carol")
    post = client.feeds.add_activity(type="post", feeds=[f"user:{alice}"], user_id=alice, text="hi").data.activity
    comment = client.feeds.add_comment(object_id=post.id, object_type="activity", comment="hey", user_id=alice,
                                       mentioned_user_ids=[bob], create_notification_activity=True).data.comment
    assert _notes(client, bob) == [post.id]
    client.feeds.update_comment(id=comment.id, user_id=alice, mentioned_user_ids=[carol], custom={"c": 2},
                                handle_mention_notifications=True, copy_custom_to_notification=True)
    assert _notes(client, bob) == [] and _note_customs(client, carol) == [{"c": 2}]
    client.feeds.update_comment_partial(id=comment.id, user_id=alice, set={"mentioned_user_ids": [bob]},
                                        handle_mention_notifications=True)
    assert _notes(client, bob) == [post.id] and _notes(client, carol) == []
    # Deleting the comment with delete_notification_activity finds the edit's notification too.
    client.feeds.delete_comment(id=comment.id, delete_notification_activity=True)
    assert _notes(client, bob) == []
