"""Collections through the SDK: create (all or nothing), upsert, update,
read by refs (Python double-encodes them), delete, query, and their live
enrichment into activities."""

from getstream.models import CollectionRequest, UpdateCollectionRequest

from sdkhelpers import api_error, raw, uid


def test_collection_lifecycle_and_activity_enrichment(client, make_users):
    alice = make_users("alice")
    food, news = uid("food"), uid("news")
    created = client.feeds.create_collections(collections=[
        CollectionRequest(name=food, id="pizza", custom={"kind": "italian"}, user_id=alice),
        CollectionRequest(name=news, custom={"title": "hello"}),
    ]).data.collections
    assert [(c.name, c.id) for c in created][0] == (food, "pizza")
    news_id = created[1].id
    assert news_id

    activity = client.feeds.add_activity(
        type="post", feeds=[f"user:{alice}"], user_id=alice,
        collection_refs=[f"{food}:pizza", f"{news}:{news_id}", f"{food}:missing"]).data.activity
    got = raw(client.feeds.get_activity(id=activity.id))["activity"]["collections"]
    assert got[f"{food}:pizza"]["status"] == "ok" and got[f"{food}:pizza"]["custom"] == {"kind": "italian"}
    assert got[f"{food}:missing"] == {"id": "missing", "name": food, "status": "notfound"}

    read = client.feeds.read_collections(collection_refs=[f"{food}:pizza", f"{news}:{news_id}"]).data.collections
    assert sorted(c.name for c in read) == sorted([food, news])

    client.feeds.update_collections(collections=[
        UpdateCollectionRequest(name=food, id="pizza", custom={"kind": "neapolitan"})])
    got = raw(client.feeds.get_activity(id=activity.id))["activity"]["collections"]
    assert got[f"{food}:pizza"]["custom"] == {"kind": "neapolitan"}  # live, not a copy

    upserted = client.feeds.upsert_collections(collections=[
        CollectionRequest(name=food, id="pizza", custom={"kind": "roman"}),
        CollectionRequest(name=food, id="pasta", custom={"kind": "fresh"}),
    ]).data.collections
    assert {c.id: c.custom["kind"] for c in upserted} == {"pizza": "roman", "pasta": "fresh"}
    assert upserted[0].user_id == alice  # upsert keeps the owner

    client.feeds.delete_collections(collection_refs=[f"{food}:pizza"])
    got = raw(client.feeds.get_activity(id=activity.id))["activity"]["collections"]
    assert got[f"{food}:pizza"]["status"] == "notfound"

    page = client.feeds.query_collections(limit=1)
    assert len(page.data.collections) == 1 and page.data.next


def test_collection_bad_input(client):
    name = uid("c")
    client.feeds.create_collections(collections=[CollectionRequest(name=name, id="one", custom={"a": 1})])
    with api_error(400, 4):  # exists: nothing of the batch is written
        client.feeds.create_collections(collections=[
            CollectionRequest(name=name, id="two", custom={"a": 1}),
            CollectionRequest(name=name, id="one", custom={"a": 2}),
        ])
    assert client.feeds.read_collections(collection_refs=[f"{name}:two"]).data.collections == []
    with api_error(400, 4):
        client.feeds.create_collections(collections=[CollectionRequest(name=name, id="three", custom={})])
    with api_error(404, 16):
        client.feeds.update_collections(collections=[UpdateCollectionRequest(name=name, id="nope", custom={"a": 1})])
    with api_error(400, 4):
        client.feeds.read_collections(collection_refs=["no-colon"])


def test_inline_collections_on_add_activity(client, make_users):
    alice = make_users("alice")
    name = uid("inline")
    activity = raw(client.feeds.add_activity(
        type="post", feeds=[f"user:{alice}"], user_id=alice,
        collections=[CollectionRequest(name=name, id="one", custom={"v": 1})]))["activity"]
    assert activity["collections"][f"{name}:one"]["custom"] == {"v": 1}
    assert activity["collections"][f"{name}:one"]["status"] == "ok"
    # Re-sent inline, the collection is updated, not duplicated.
    client.feeds.add_activity(type="post", feeds=[f"user:{alice}"], user_id=alice,
                              collections=[CollectionRequest(name=name, id="one", custom={"v": 2})])
    assert client.feeds.read_collections(collection_refs=[f"{name}:one"]).data.collections[0].custom == {"v": 2}
    with api_error(400, 4):
        client.feeds.add_activity(type="post", feeds=[f"user:{alice}"], user_id=alice,
                                  collections=[CollectionRequest(name=name, id="two", custom={})])
