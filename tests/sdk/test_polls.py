"""Polls through the SDK: the common polls API, voting on an activity's
poll (enforce_unique_vote, max_votes_allowed, answers, closed), and the
poll carried by the activity."""

from getstream.models import PollOptionInput, PollOptionRequest, VoteData

from sdkhelpers import api_error, raw, uid


def _poll_activity(client, author, **poll_fields):
    poll = client.create_poll(name="Lunch?", user_id=author, options=[
        PollOptionInput(text="pizza"), PollOptionInput(text="sushi")], **poll_fields).data.poll
    activity = client.feeds.add_activity(type="poll", feeds=[f"user:{author}"], poll_id=poll.id,
                                         user_id=author).data.activity
    return poll, activity


def test_poll_crud(client, make_users):
    alice = make_users("alice")
    poll = client.create_poll(name="Q", user_id=alice, description="d", custom={"k": 1},
                              options=[PollOptionInput(text="a"), PollOptionInput(text="b")]).data.poll
    assert poll.name == "Q" and poll.created_by_id == alice and [o.text for o in poll.options] == ["a", "b"]
    assert client.get_poll(poll_id=poll.id).data.poll.description == "d"
    updated = client.update_poll_partial(poll_id=poll.id, set={"name": "Q2", "is_closed": True}).data.poll
    assert updated.name == "Q2" and updated.is_closed is True
    opt = client.create_poll_option(poll_id=poll.id, text="c").data.poll_option
    assert client.get_poll_option(poll_id=poll.id, option_id=opt.id).data.poll_option.text == "c"
    client.update_poll_option(poll_id=poll.id, id=opt.id, text="c2")
    client.delete_poll_option(poll_id=poll.id, option_id=opt.id)
    full = client.update_poll(id=poll.id, name="Q3", options=[PollOptionRequest(id=poll.options[0].id, text="a")]).data.poll
    assert [o.id for o in full.options] == [poll.options[0].id] and full.is_closed is False
    assert any(p.id == poll.id for p in client.query_polls().data.polls)
    client.delete_poll(poll_id=poll.id)
    with api_error(404, 16):
        client.get_poll(poll_id=poll.id)


def test_votes_counts_and_activity_poll(client, make_users):
    alice, bob, carol = make_users("alice", "bob", "carol")
    poll, activity = _poll_activity(client, alice, max_votes_allowed=2)
    pizza, sushi = poll.options[0].id, poll.options[1].id
    client.feeds.cast_poll_vote(activity_id=activity.id, poll_id=poll.id, user_id=bob, vote=VoteData(option_id=pizza))
    client.feeds.cast_poll_vote(activity_id=activity.id, poll_id=poll.id, user_id=bob, vote=VoteData(option_id=sushi))
    resp = raw(client.feeds.cast_poll_vote(activity_id=activity.id, poll_id=poll.id, user_id=carol,
                                           vote=VoteData(option_id=pizza)))
    assert resp["vote"]["option_id"] == pizza and resp["vote"]["user"]["id"] == carol
    assert resp["poll"]["vote_count"] == 3
    assert resp["poll"]["vote_counts_by_option"] == {pizza: 2, sushi: 1}
    with api_error(400, 4):  # bob has used his two votes
        client.feeds.cast_poll_vote(activity_id=activity.id, poll_id=poll.id, user_id=bob,
                                    vote=VoteData(option_id=pizza + "x"))
    got = raw(client.feeds.get_activity(id=activity.id, user_id=bob))["activity"]["poll"]
    assert got["id"] == poll.id and got["vote_count"] == 3
    assert sorted(v["option_id"] for v in got["own_votes"]) == sorted([pizza, sushi])
    assert len(got["latest_votes_by_option"][pizza]) == 2

    votes = client.query_poll_votes(poll_id=poll.id, limit=2)
    assert len(votes.data.votes) == 2 and votes.data.next
    vote_id = resp["vote"]["id"]
    deleted = raw(client.feeds.delete_poll_vote(activity_id=activity.id, poll_id=poll.id, vote_id=vote_id,
                                                user_id=carol))
    assert deleted["vote"]["id"] == vote_id and deleted["poll"]["vote_count"] == 2


def test_unique_votes_answers_and_closed_polls(client, make_users):
    alice, bob = make_users("alice", "bob")
    poll, activity = _poll_activity(client, alice, enforce_unique_vote=True, allow_answers=True)
    pizza, sushi = poll.options[0].id, poll.options[1].id
    client.feeds.cast_poll_vote(activity_id=activity.id, poll_id=poll.id, user_id=bob, vote=VoteData(option_id=pizza))
    changed = raw(client.feeds.cast_poll_vote(activity_id=activity.id, poll_id=poll.id, user_id=bob,
                                              vote=VoteData(option_id=sushi)))
    assert changed["poll"]["vote_counts_by_option"] == {sushi: 1}
    answer = raw(client.feeds.cast_poll_vote(activity_id=activity.id, poll_id=poll.id, user_id=bob,
                                             vote=VoteData(answer_text="ramen!")))
    assert answer["vote"]["is_answer"] is True and answer["poll"]["answers_count"] == 1
    assert answer["poll"]["latest_answers"][0]["answer_text"] == "ramen!"

    client.update_poll_partial(poll_id=poll.id, set={"is_closed": True})
    with api_error(400, 4):
        client.feeds.cast_poll_vote(activity_id=activity.id, poll_id=poll.id, user_id=bob,
                                    vote=VoteData(option_id=pizza))


def test_poll_bad_input(client, make_users):
    alice, bob = make_users("alice", "bob")
    with api_error(400, 4):
        client.create_poll(name="", user_id=alice)
    with api_error(400, 4):
        client.create_poll(name="dup", user_id=alice, options=[PollOptionInput(text="x"), PollOptionInput(text="x")])
    with api_error(400, 4):
        client.create_poll(name="m", user_id=alice, max_votes_allowed=11)
    poll, activity = _poll_activity(client, alice)
    with api_error(400, 4):  # answers not allowed
        client.feeds.cast_poll_vote(activity_id=activity.id, poll_id=poll.id, user_id=bob,
                                    vote=VoteData(answer_text="no"))
    with api_error(400, 4):  # unknown option
        client.feeds.cast_poll_vote(activity_id=activity.id, poll_id=poll.id, user_id=bob,
                                    vote=VoteData(option_id="nope"))
    other = client.create_poll(name="other", user_id=alice).data.poll
    with api_error(400, 4):  # the activity carries another poll
        client.feeds.cast_poll_vote(activity_id=activity.id, poll_id=other.id, user_id=bob,
                                    vote=VoteData(option_id=poll.options[0].id))
    with api_error(404, 16):
        client.get_poll(poll_id=uid("missing"))


def test_update_poll_partial_unsets_fields_and_keeps_unknown_keys_as_custom(client, make_users):
    alice = make_users("alice")
    poll = client.create_poll(name="Where?", user_id=alice, description="the offsite", max_votes_allowed=2,
                              custom={"category": "events"}, options=[PollOptionInput(text="a")]).data.poll
    # Stream's own docs example puts `unset` inside `set`: an unknown key is custom data there.
    body = raw(client.update_poll_partial(poll_id=poll.id, set={"name": "Where now?", "unset": ["custom"]}))
    assert body["poll"]["name"] == "Where now?"
    assert body["poll"]["custom"] == {"category": "events", "unset": ["custom"]}
    cleared = client.update_poll_partial(poll_id=poll.id, unset=["description", "max_votes_allowed", "custom"])
    body = raw(cleared)["poll"]
    assert body.get("description", "") == "" and body.get("max_votes_allowed") is None and body["custom"] == {}
    client.update_poll_partial(poll_id=poll.id, set={"color": "red"}, unset=[])
    assert raw(client.get_poll(poll_id=poll.id))["poll"]["custom"] == {"color": "red"}
    client.update_poll_partial(poll_id=poll.id, unset=["color"])
    assert raw(client.get_poll(poll_id=poll.id))["poll"]["custom"] == {}
    for reserved in ({"set": {"vote_count": 3}}, {"set": {"id": "other"}}, {"unset": ["name"]}):
        with api_error(400, 4):
            client.update_poll_partial(poll_id=poll.id, **reserved)
