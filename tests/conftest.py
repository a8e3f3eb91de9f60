"""Shared fixtures: an installation on SQLite, and on PostgreSQL when VIGIE_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from vigie.access.audit import Actor, AuditLog
from vigie.catalog.db import Catalog
from vigie.config import S3Settings, Settings, VaultSettings
from vigie.vault.store import Vault

POSTGRES_URL = os.environ.get("VIGIE_TEST_POSTGRES_URL")


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's VIGIE_* settings."""
    for name in list(os.environ):
        if name.startswith("VIGIE_") and name != "VIGIE_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)


def postgres_schema_url(base_url: str) -> Iterator[str]:
    """A fresh schema per test, so tests never see each other's rows."""
    schema = "t_" + uuid.uuid4().hex[:16]
    engine = create_engine(base_url)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A local S3-compatible server: moto's server mode, a TEST STAND-IN for Ceph/MinIO/AWS."""
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


# embedded: SQLite + local vault directory; scaleout: PostgreSQL + S3 (same tests, both stacks).
STACKS = ["embedded", pytest.param("scaleout", marks=[pytest.mark.scaleout, pytest.mark.postgres])]


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    if request.param == "scaleout" and not POSTGRES_URL:
        pytest.skip("VIGIE_TEST_POSTGRES_URL is not set")
    return str(request.param)


@pytest.fixture
def catalog_url(stack: str, tmp_path: Path) -> Iterator[str]:
    if stack == "embedded":
        yield f"sqlite:///{tmp_path / 'catalog.sqlite'}"
        return
    assert POSTGRES_URL
    yield from postgres_schema_url(POSTGRES_URL)


@pytest.fixture
def settings(tmp_path: Path, catalog_url: str, stack: str, request: pytest.FixtureRequest) -> Settings:
    vault = VaultSettings(chunk_bytes=16 << 10, fsync=False)
    if stack == "scaleout":
        endpoint = request.getfixturevalue("s3_endpoint")
        vault = VaultSettings(
            chunk_bytes=16 << 10,
            store="s3",
            s3=S3Settings(
                bucket="vigie-test",
                prefix=uuid.uuid4().hex,
                endpoint_url=endpoint,
                access_key="test",
                secret_key="test",
                create_bucket=True,
            ),
        )
    return Settings(home=tmp_path / "home", database_url=catalog_url, vault=vault, operator="tester")


@pytest.fixture
def catalog(settings: Settings) -> Iterator[Catalog]:
    catalog = Catalog(settings.catalog_url)
    yield catalog
    catalog.dispose()


@pytest.fixture
def vault(settings: Settings, catalog: Catalog) -> Vault:
    return Vault(settings, catalog)


@pytest.fixture
def audit(catalog: Catalog, vault: Vault) -> AuditLog:
    return AuditLog(catalog, vault.signer)


@pytest.fixture
def actor() -> Actor:
    return Actor(name="tester", role="local-admin", client="pytest")


@pytest.fixture(scope="session")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small synthetic clips made once per test session by vigie.sim (no committed video)."""
    from vigie.sim import SceneSpec, generate

    folder = tmp_path_factory.mktemp("scenes")
    generate(SceneSpec(kind="walkers", width=320, height=180, fps=10, seconds=9.0, seed=3), folder / "walkers.mp4")
    generate(
        SceneSpec(kind="walkers", width=320, height=180, fps=10, seconds=6.0, seed=4, variant="night"),
        folder / "night.mp4",
    )
    return folder


class RawBlobs:
    """Reach behind the vault into its store, as an attacker with store access would (tampering tests)."""

    def __init__(self, vault: Vault) -> None:
        self.store = vault.blobs

    def read(self, key: str) -> bytes:
        return self.store.get(key)

    def write(self, key: str, data: bytes) -> None:
        from vigie.vault.blobstore import LocalBlobStore

        if isinstance(self.store, LocalBlobStore):
            (self.store.root / key).write_bytes(data)
        else:
            self.store.client.put_object(Bucket=self.store.bucket, Key=self.store.prefix + key, Body=data)  # type: ignore[attr-defined]

    def delete(self, key: str) -> None:
        self.store.delete(key)

    def keys(self) -> list[str]:
        return list(self.store.iter_keys())


@pytest.fixture
def raw_blobs(vault: Vault) -> RawBlobs:
    return RawBlobs(vault)
