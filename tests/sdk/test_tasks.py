"""Async tasks: get_task on task ids returned by delete_feed / delete_users."""

import uuid

from getstream.models import UserRequest

from sdkhelpers import api_error, assert_recent_ns, raw, uid, wait_task


def test_get_task_for_delete_feed_reaches_completed(client, make_users):
    owner = make_users("owner")
    feed_id = uid("f")
    client.feeds.feed("user", feed_id).get_or_create(user_id=owner)
    resp = client.feeds.delete_feed(feed_group_id="user", feed_id=feed_id)
    task_id = resp.data.task_id
    assert task_id

    first = client.get_task(id=task_id)
    assert first.status_code() == 200
    assert first.data.task_id == task_id
    assert first.data.status in ("pending", "running", "completed")
    body = raw(first)
    assert_recent_ns(body["created_at"])
    assert_recent_ns(body["updated_at"])

    done = wait_task(client, task_id)
    assert done.data.status == "completed"
    assert done.data.error is None
    assert raw(done)["updated_at"] >= body["created_at"]


def test_get_task_for_delete_users_reaches_completed(client):
    a = uid("gone")
    client.update_users(users={a: UserRequest(id=a)})
    task_id = client.delete_users(user_ids=[a]).data.task_id
    done = wait_task(client, task_id)
    assert done.data.task_id == task_id and done.data.status == "completed"


def test_sdk_wait_for_task_helper_works(client):
    a = uid("gone")
    client.update_users(users={a: UserRequest(id=a)})
    task_id = client.delete_users(user_ids=[a]).data.task_id
    done = client.wait_for_task(task_id, poll_interval=0.1, timeout=10)
    assert done.data.status == "completed"


def test_get_unknown_task_is_404_code_16(client):
    with api_error(404, 16):
        client.get_task(id=str(uuid.uuid4()))
