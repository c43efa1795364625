"""Uploads through the SDK's upload_file / upload_image (multipart forms with
the file and, server-side, the owning `user`), the returned URLs, and
delete_file / delete_image: only the uploader or a server-side call deletes."""

import base64

import httpx
from getstream.models import ImageSize, OnlyUserID

from sdkhelpers import api_error

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
)


def test_upload_image_and_file_for_a_user_then_delete(client, user_client, make_users, tmp_path, server):
    alice, bob = make_users("alice", "bob")
    image = tmp_path / "cat.png"
    image.write_bytes(PNG)
    up = client.upload_image(file=str(image), user=OnlyUserID(id=alice)).data
    assert up.file.startswith(f"{server.base_url}/uploads/") and up.file.endswith("/cat.png")
    assert up.thumb_url == up.file
    got = httpx.get(up.file)
    assert got.status_code == 200 and got.content == PNG and got.headers["content-type"] == "image/png"

    notes = tmp_path / "notes.txt"
    notes.write_text("some notes")
    doc = user_client(alice).upload_file(file=str(notes)).data
    assert httpx.get(doc.file).text == "some notes"

    # The activity that links the image does not own it. The attachment is
    # sent without `custom`; the response still carries it, as the spec requires.
    activity = client.feeds.add_activity(
        type="post", feeds=[f"user:{alice}"], user_id=alice, attachments=[{"type": "image", "image_url": up.file}]
    ).data.activity
    assert activity.attachments[0].custom == {}
    client.feeds.delete_activity(id=activity.id, hard_delete=True)
    assert httpx.get(up.file).status_code == 200

    with api_error(403, 17):
        user_client(bob).delete_image(url=up.file)
    user_client(alice).delete_image(url=up.file)
    assert httpx.get(up.file).status_code == 404
    with api_error(404, 16):
        client.delete_image(url=up.file)
    client.delete_file(url=doc.file)
    assert httpx.get(doc.file).status_code == 404


def png_size(data):
    """A PNG's width and height, from its IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_upload_image_refuses_non_images(client, make_users, tmp_path):
    alice = make_users("alice")
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"this is text, not a PNG")
    with api_error(400, 4):
        client.upload_image(file=str(fake), user=OnlyUserID(id=alice))


def test_upload_image_makes_the_upload_sizes(client, make_users, tmp_path):
    alice = make_users("alice")
    real = tmp_path / "real.png"
    real.write_bytes(PNG)
    up = client.upload_image(
        file=str(real),
        user=OnlyUserID(id=alice),
        upload_sizes=[ImageSize(width=50, height=40, resize="scale"), ImageSize(width=8, height=8, resize="fill",
                                                                              crop="top")],
    ).data
    assert [(s.width, s.height, s.resize, s.crop) for s in up.upload_sizes] == [
        (50, 40, "scale", "center"), (8, 8, "fill", "top")]
    # The thumbnail is the smallest size; any size is served from the image's URL.
    thumb = httpx.get(up.thumb_url)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
    assert png_size(thumb.content) == (8, 8)
    assert png_size(httpx.get(up.file, params={"w": 50, "h": 40, "resize": "scale"}).content) == (50, 40)
    assert png_size(httpx.get(up.file, params={"w": 7, "h": 3, "resize": "crop"}).content) == (7, 3)
    assert httpx.get(up.file).content == PNG
    with api_error(400, 4) as e:
        client.upload_image(
            file=str(real), user=OnlyUserID(id=alice), upload_sizes=[ImageSize(width=50, height=50, resize="stretch")]
        )
    assert "upload_sizes[0].resize" in e.value.message
    with api_error(400, 4):
        client.upload_image(file=str(real), user=OnlyUserID(id=alice), upload_sizes=[ImageSize(width=5000, height=1)])
