"""What the multi-process scale-out tests share: the services' addresses, S3 settings, worker environments."""

from __future__ import annotations

import os
import socket
import sys
import uuid
from urllib.parse import urlparse

from vigie.config import S3Settings

VIGIE = [sys.executable, "-m", "vigie"]
NATS_URL = os.environ.get("VIGIE_TEST_NATS_URL", "nats://127.0.0.1:4222")
POSTGRES_URL = os.environ.get("VIGIE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url.replace("+psycopg", ""))
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def s3_settings(endpoint: str) -> S3Settings:
    """A fresh prefix of the moto bucket (moto: a test stand-in for Ceph, MinIO or AWS S3)."""
    return S3Settings(
        bucket="vigie-scaleout",
        prefix=uuid.uuid4().hex,
        endpoint_url=endpoint,
        access_key="test",
        secret_key="test",
        create_bucket=True,
    )


def worker_env(database_url: str, s3: S3Settings, **extra: str) -> dict[str, str]:
    """The environment of a worker process: PostgreSQL, the S3 vault and the NATS bus; no inherited VIGIE_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    return (
        env
        | {
            "VIGIE_DATABASE_URL": database_url,
            "VIGIE_VAULT__FSYNC": "false",
            "VIGIE_VAULT__STORE": "s3",
            "VIGIE_VAULT__S3__BUCKET": s3.bucket,
            "VIGIE_VAULT__S3__PREFIX": s3.prefix,
            "VIGIE_VAULT__S3__ENDPOINT_URL": s3.endpoint_url or "",
            "VIGIE_VAULT__S3__ACCESS_KEY": "test",
            "VIGIE_VAULT__S3__SECRET_KEY": "test",
            "VIGIE_VAULT__S3__CREATE_BUCKET": "true",
            "VIGIE_EVENTS__BUS": "nats",
            "VIGIE_EVENTS__NATS_URL": NATS_URL,
        }
        | extra
    )
