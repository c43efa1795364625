"""Uploads kept in S3-compatible object storage (`--uploads-url s3://…`):
the server talks to a local S3 API (moto's server, started by the test), the
returned URLs point at the bucket, the object carries the content type, and
a deletion removes the object. Nothing is written to the data directory.
Resized variants (`upload_sizes`) are objects of their own beside the
original, and go with it: by delete_image and by a GDPR deletion."""

import base64
import socket
from pathlib import Path

import boto3
import botocore.exceptions
import httpx
import pytest
from getstream.models import ImageSize, OnlyUserID, UserRequest
from moto.server import ThreadedMotoServer

from sdkhelpers import api_error, make_client, uid, wait_task
from tributary_server import start_server

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
)
BUCKET = "tributary-media"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3():
    port = _free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    bucket = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    bucket.create_bucket(Bucket=BUCKET)
    yield endpoint, bucket
    moto.stop()


def test_uploads_go_to_the_bucket_and_are_deleted_from_it(s3, tmp_path):
    endpoint, bucket = s3
    env = {"TRIBUTARY_UPLOADS_URL": f"s3://{BUCKET}/feeds", "AWS_ENDPOINT": endpoint, "AWS_ALLOW_HTTP": "true"}
    server, stop = start_server(extra_env={**env, **CREDENTIALS})
    client = make_client(server)
    try:
        alice, bob = uid("alice"), uid("bob")
        client.update_users(users={u: UserRequest(id=u) for u in (alice, bob)})
        image = tmp_path / "sky.png"
        image.write_bytes(PNG)
        up = client.upload_image(file=str(image), user=OnlyUserID(id=alice)).data
        prefix = f"{endpoint}/{BUCKET}/feeds/"
        assert up.file.startswith(prefix) and up.file.endswith("/sky.png"), up.file
        key = up.file[len(f"{endpoint}/{BUCKET}/"):]
        stored = bucket.get_object(Bucket=BUCKET, Key=key)
        assert stored["Body"].read() == PNG
        assert stored["ContentType"] == "image/png"
        # The bucket is private here: reading it publicly is the operator's choice (README).
        assert httpx.get(up.file).status_code == 403

        bob_client = make_client(server, token=client.create_token(bob))
        with api_error(403, 17):
            bob_client.delete_image(url=up.file)
        make_client(server, token=client.create_token(alice)).delete_image(url=up.file)
        with pytest.raises(botocore.exceptions.ClientError):
            bucket.head_object(Bucket=BUCKET, Key=key)
        with api_error(404, 16):
            client.delete_image(url=up.file)
        assert not (Path(server.data_dir) / "uploads").exists(), "nothing is kept on local disk"
    finally:
        client.close()
        stop()


def test_variants_are_objects_beside_the_original_and_go_with_it(s3, tmp_path):
    endpoint, bucket = s3
    env = {"TRIBUTARY_UPLOADS_URL": f"s3://{BUCKET}/feeds", "AWS_ENDPOINT": endpoint, "AWS_ALLOW_HTTP": "true"}
    server, stop = start_server(extra_env={**env, **CREDENTIALS})
    client = make_client(server)
    try:
        alice = uid("alice")
        client.update_users(users={alice: UserRequest(id=alice)})
        image = tmp_path / "sky.png"
        image.write_bytes(PNG)
        sizes = [ImageSize(width=3, height=2, resize="scale"), ImageSize(width=5, height=5, resize="fill")]
        up = client.upload_image(file=str(image), user=OnlyUserID(id=alice), upload_sizes=sizes).data
        key = up.file[len(f"{endpoint}/{BUCKET}/"):]
        token = key.split("/")[1]
        assert up.thumb_url == f"{endpoint}/{BUCKET}/feeds/{token}/3x2-scale-center-sky.png", up.thumb_url
        thumb = bucket.get_object(Bucket=BUCKET, Key=up.thumb_url[len(f"{endpoint}/{BUCKET}/"):])
        body = thumb["Body"].read()
        assert thumb["ContentType"] == "image/png"
        assert (int.from_bytes(body[16:20], "big"), int.from_bytes(body[20:24], "big")) == (3, 2)
        listed = bucket.list_objects_v2(Bucket=BUCKET, Prefix=f"feeds/{token}/")["Contents"]
        assert len(listed) == 3
        client.delete_image(url=up.file)
        assert bucket.list_objects_v2(Bucket=BUCKET, Prefix=f"feeds/{token}/")["KeyCount"] == 0

        # A GDPR deletion removes the user's objects, variants included.
        up = client.upload_image(file=str(image), user=OnlyUserID(id=alice), upload_sizes=sizes).data
        token = up.file[len(f"{endpoint}/{BUCKET}/"):].split("/")[1]
        assert bucket.list_objects_v2(Bucket=BUCKET, Prefix=f"feeds/{token}/")["KeyCount"] == 3
        task_id = client.feeds.delete_feed_user_data(user_id=alice, hard_delete=True).data.task_id
        wait_task(client, task_id, timeout=30)
        assert bucket.list_objects_v2(Bucket=BUCKET, Prefix=f"feeds/{token}/")["KeyCount"] == 0
    finally:
        client.close()
        stop()
