"""Pictures on S3-compatible storage (django-storages), against a real S3 API server on
127.0.0.1 (moto's server: the same HTTP API, run in the test)."""

from __future__ import annotations

import io

import boto3
import pytest
from django.core.files.storage import storages
from moto.server import ThreadedMotoServer
from PIL import Image

from quizzes.images import image_clean, image_store, srcset
from tests.pictures import picture_bytes, upload

BUCKET = "quiz-media"


@pytest.fixture
def s3(settings):
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server._server.server_port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": endpoint,
                "region_name": "us-east-1",
                "access_key": "test",
                "secret_key": "test",
                "location": "media",
                "querystring_auth": False,
                "default_acl": None,
                "file_overwrite": False,
                "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
            },
        },
    }
    yield client, endpoint
    server.stop()


def test_a_picture_is_stored_in_the_bucket_at_each_width_and_linked_there(s3):
    client, endpoint = s3
    storage = storages["default"]

    name = image_store(image_clean(upload(picture_bytes((2000, 1500), gps=True))), storage=storage)

    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET)["Contents"])
    stem = name.rsplit("_w", 1)[0]
    assert keys == [f"media/{stem}_w{w}.webp" for w in (1600, 480, 960)]
    head = client.head_object(Bucket=BUCKET, Key=f"media/{name}")
    assert head["CacheControl"] == "public, max-age=31536000, immutable"
    assert head["ContentType"] == "image/webp"
    body = client.get_object(Bucket=BUCKET, Key=f"media/{name}")["Body"].read()
    assert b"SecretCam" not in body
    assert Image.open(io.BytesIO(body)).size == (1600, 1200)

    src, candidates = srcset(name, storage=storage)
    assert src == f"{endpoint}/{BUCKET}/media/{stem}_w480.webp"
    assert candidates.endswith(f"{endpoint}/{BUCKET}/media/{stem}_w1600.webp 1600w")
