"""Users: update_users (upsert), update_users_partial, query_users, delete_users."""

from getstream.models import QueryUsersPayload, SortParamRequest, UpdateUserPartialRequest, UserRequest

from sdkhelpers import api_error, assert_recent_ns, make_client, raw, uid, wait_task


def _query(client, **kw):
    kw.setdefault("filter_conditions", {})
    return client.query_users(payload=QueryUsersPayload(**kw))


def test_update_users_creates_and_returns_users(client):
    a, b = uid("alice"), uid("bob")
    resp = client.update_users(
        users={
            a: UserRequest(id=a, name="Alice", image="https://img.example/a.png",
                           custom={"city": "Oslo", "age": 31}),
            b: UserRequest(id=b, name="Bob", role="admin", teams=["red"]),
        }
    )
    assert resp.status_code() == 201
    users = resp.data.users
    assert set(users) == {a, b}
    ua = users[a]
    assert ua.id == a and ua.name == "Alice"
    assert ua.image == "https://img.example/a.png"
    assert ua.custom == {"city": "Oslo", "age": 31}
    assert ua.role == "user"  # default role
    assert ua.banned is False and ua.shadow_banned is False
    assert users[b].role == "admin"
    assert users[b].teams == ["red"]
    body = raw(resp)["users"][a]
    assert_recent_ns(body["created_at"])
    assert_recent_ns(body["updated_at"])


def test_update_users_upserts_existing_user(client):
    a = uid("alice")
    first = raw(client.update_users(users={a: UserRequest(id=a, name="A1", custom={"k": 1})}))
    second = client.update_users(users={a: UserRequest(id=a, name="A2", custom={"k": 2})})
    u = second.data.users[a]
    assert u.name == "A2" and u.custom == {"k": 2}
    body = raw(second)["users"][a]
    assert body["created_at"] == first["users"][a]["created_at"]
    assert body["updated_at"] >= first["users"][a]["updated_at"]
    q = _query(client, filter_conditions={"id": a})
    assert [x.name for x in q.data.users] == ["A2"]


def test_update_users_rejects_empty_id(client):
    with api_error(400, 4):
        client.update_users(users={"": UserRequest(id="")})


def test_update_users_partial_sets_and_unsets(client):
    a = uid("alice")
    client.update_users(
        users={a: UserRequest(id=a, name="Alice", image="https://img.example/a.png",
                              custom={"color": "red"})}
    )
    resp = client.update_users_partial(
        users=[UpdateUserPartialRequest(id=a, set={"name": "Alice Renamed"}, unset=["image"])]
    )
    assert resp.status_code() == 200
    u = resp.data.users[a]
    assert u.name == "Alice Renamed"
    assert not u.image
    assert u.custom == {"color": "red"}
    q = _query(client, filter_conditions={"id": a}).data.users
    assert q[0].name == "Alice Renamed" and not q[0].image and q[0].custom == {"color": "red"}


def test_update_users_partial_unknown_user_is_404(client):
    with api_error(404, 16):
        client.update_users_partial(users=[UpdateUserPartialRequest(id=uid("ghost"), set={"name": "x"})])


def test_update_users_partial_empty_id_is_400(client):
    with api_error(400, 4):
        client.update_users_partial(users=[UpdateUserPartialRequest(id="", set={"name": "x"})])


def test_query_users_filters(client):
    ids = sorted(uid("q") for _ in range(3))
    client.update_users(users={i: UserRequest(id=i, name=f"n-{i}") for i in ids})

    resp = _query(client, filter_conditions={"id": {"$in": ids}})
    assert resp.status_code() == 200
    assert sorted(u.id for u in resp.data.users) == ids

    one = _query(client, filter_conditions={"id": ids[1]}).data.users
    assert [u.id for u in one] == [ids[1]]
    assert one[0].name == f"n-{ids[1]}"

    eq = _query(client, filter_conditions={"id": {"$eq": ids[2]}}).data.users
    assert [u.id for u in eq] == [ids[2]]


def test_query_users_sort_limit_offset(client):
    ids = sorted(uid("s") for _ in range(4))
    client.update_users(users={i: UserRequest(id=i) for i in ids})
    f = {"id": {"$in": ids}}

    asc = _query(client, filter_conditions=f, sort=[SortParamRequest(field="id", direction=1)])
    assert [u.id for u in asc.data.users] == ids
    desc = _query(client, filter_conditions=f, sort=[SortParamRequest(field="id", direction=-1)])
    assert [u.id for u in desc.data.users] == ids[::-1]

    page = _query(client, filter_conditions=f, sort=[SortParamRequest(field="id", direction=1)],
                  limit=2, offset=1)
    assert [u.id for u in page.data.users] == ids[1:3]


def test_query_users_limit_over_100_is_400(client):
    with api_error(400, 4):
        _query(client, filter_conditions={}, limit=101)


def test_query_users_offset_over_1000_is_400(client):
    with api_error(400, 4):
        _query(client, filter_conditions={}, offset=1001)


def test_query_users_unknown_sort_field_is_400(client):
    with api_error(400, 4):
        _query(client, filter_conditions={}, sort=[SortParamRequest(field="no_such_field", direction=1)])


def test_query_users_bad_filter_operator_is_400(client):
    with api_error(400, 4):
        _query(client, filter_conditions={"id": {"$bogus": "x"}})


def test_delete_users_returns_task_that_completes(client):
    a = uid("del")
    client.update_users(users={a: UserRequest(id=a, name="Doomed")})
    resp = client.delete_users(user_ids=[a])
    assert resp.status_code() == 201
    task_id = resp.data.task_id
    assert isinstance(task_id, str) and task_id
    task = wait_task(client, task_id)
    assert task.data.task_id == task_id
    assert task.data.status == "completed"
    remaining = _query(client, filter_conditions={"id": a}).data.users
    # soft delete may keep the user visible with deleted_at set; otherwise it is gone
    assert all(u.deleted_at is not None for u in remaining), remaining


def test_delete_users_requires_ids(client):
    with api_error(400, 4):
        client.delete_users(user_ids=[])


def _ids(resp):
    return [u.id for u in resp.data.users]


def test_query_users_by_role_name_teams_and_dates(client):
    tag = uid("qf")
    admin, mod, plain, anon_name = (f"{tag}-{n}" for n in ("admin", "mod", "plain", "noname"))
    client.update_users(users={
        admin: UserRequest(id=admin, name="Zoe Admin", role="admin", teams=["red", "blue"], custom={"tier": 3}),
        mod: UserRequest(id=mod, name="Mark Moderator", role="moderator", teams=["blue"], custom={"tier": 1}),
        plain: UserRequest(id=plain, name="Ann Plain", language="nl"),
        anon_name: UserRequest(id=anon_name),
    })
    mine = {"id": {"$autocomplete": tag}}
    sort = [SortParamRequest(field="id", direction=1)]

    def q(**conds):
        return _ids(_query(client, filter_conditions={"$and": [mine, conds]}, sort=sort))

    assert q(role="admin") == [admin]
    assert q(role={"$in": ["admin", "moderator"]}) == [admin, mod]
    assert q(role={"$eq": "user"}) == [anon_name, plain]
    assert q(name={"$autocomplete": "mar"}) == [mod], "a word of the name starts with it"
    assert q(name={"$autocomplete": "zoe ad"}) == [admin], "the name starts with it"
    assert q(name="Ann Plain") == [plain]
    assert q(name={"$exists": False}) == [anon_name]
    assert q(teams={"$contains": "blue"}) == [admin, mod]
    assert q(teams={"$in": ["red"]}) == [admin]
    assert q(id={"$ne": admin}) == [mod, anon_name, plain]
    assert q(id={"$nin": [admin, mod]}) == [anon_name, plain]
    assert q(language="nl") == [plain]
    assert q(**{"custom.tier": {"$gte": 2}}) == [admin]
    created = raw(_query(client, filter_conditions={"id": mod}))["users"][0]["created_at"]
    assert admin not in q(created_at={"$gt": created}) and mod in q(created_at={"$in": [created]})
    assert q(created_at={"$lt": "2000-01-01T00:00:00Z"}) == []
    by_name = _query(client, filter_conditions=mine, sort=[SortParamRequest(field="name", direction=-1)])
    assert _ids(by_name) == [admin, mod, plain, anon_name], "missing names sort as empty ones"


def test_query_users_refuses_fields_it_does_not_store(client):
    for field in ("email", "last_active", "banned"):
        with api_error(400, 4) as err:
            _query(client, filter_conditions={field: "x"})
        assert field in str(err.value.message)
    with api_error(400, 4):
        _query(client, filter_conditions={"role": {"$q": "admin"}})


def test_create_guest_makes_a_guest_with_a_token(client, server, user_client):
    wanted = uid("visitor")
    resp = client.create_guest(user=UserRequest(id=wanted, name="Visitor", custom={"from": "landing"}))
    assert resp.status_code() == 201
    guest, token = resp.data.user, resp.data.access_token
    assert guest.id.startswith(wanted + "-") and guest.role == "guest"
    assert guest.name == "Visitor" and guest.custom == {"from": "landing"}
    me = make_client(server, token=token)
    try:
        found = me.query_users(payload=QueryUsersPayload(filter_conditions={"id": guest.id})).data.users
        assert [(u.id, u.role) for u in found] == [(guest.id, "guest")]
        # The token acts as the guest: it may post to the guest's own feed.
        me.feeds.feed("user", guest.id).get_or_create()
        me.feeds.add_activity(type="post", feeds=[f"user:{guest.id}"], text="hello as a guest")
    finally:
        me.close()
    # A guest never takes an existing user's id.
    again = client.create_guest(user=UserRequest(id=wanted)).data.user
    assert again.id != guest.id and again.id.startswith(wanted + "-")
