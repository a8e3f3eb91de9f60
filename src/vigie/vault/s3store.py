"""Blobs in any S3-compatible object store (Ceph radosgw, MinIO, SeaweedFS, AWS S3).

Integrity never relies on the store: ETags are ignored; the vault's own hashes, seals and signed
checkpoints stay the truth, so a store that corrupts or swaps objects is caught by ``verify``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from vigie.vault.blobstore import BlobMissing, BlobPart, BlobStoreError, check_key


class S3BlobStore:
    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        create_bucket: bool = False,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region or "us-east-1",
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, s3={"addressing_style": "path"}),
        )
        if create_bucket:
            try:
                self.client.head_bucket(Bucket=bucket)
            except ClientError:
                self.client.create_bucket(Bucket=bucket)

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, *parts: BlobPart) -> None:
        name = self._name(key)
        if self.exists(key):
            raise BlobStoreError(f"blob {key} exists already: blobs are immutable")
        try:
            self.client.put_object(Bucket=self.bucket, Key=name, Body=b"".join(parts))
        except (ClientError, BotoCoreError) as error:
            raise BlobStoreError(f"cannot write blob {key}: {error}") from error

    def get(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
            data: bytes = response["Body"].read()
            return data
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise BlobMissing(f"blob {key} is missing") from error
            raise BlobStoreError(f"cannot read blob {key}: {error}") from error
        except BotoCoreError as error:
            raise BlobStoreError(f"cannot read blob {key}: {error}") from error

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._name(key))
        except (ClientError, BotoCoreError) as error:
            raise BlobStoreError(f"cannot delete blob {key}: {error}") from error

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise BlobStoreError(f"cannot check blob {key}: {error}") from error
        return True

    def iter_keys(self) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                yield str(item["Key"])[len(self.prefix) :]
