"""Shared fixtures: the real model, the real seed index (built once per session), the real service."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
# fixtures that load the real model or build the real seed index: a test using one is `slow`
REAL_MODEL_FIXTURES = frozenset({"encoder", "seed_settings", "seed_index", "seed_service", "fresh_service"})


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop milvus-lite's in-process servers now: its exit hook would log to streams pytest has closed."""
    import logging
    import sys

    manager = sys.modules.get("milvus_lite.server_manager")
    if manager is not None:
        logging.getLogger("milvus_lite").setLevel(logging.WARNING)  # its shutdown chatter, after the summary
        manager.server_manager_instance.release_all()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test on the real model `slow`, so `-m "not slow"` is the fast layer on the fakes."""
    for item in items:
        if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def encoder():
    """The bundled all-MiniLM-L6-v2, loaded once."""
    from embeddings.encoder import default_encoder

    return default_encoder()


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory: pytest.TempPathFactory):
    """Settings whose data directory holds an index of the five seed articles."""
    from qa.settings import IndexSettings, Settings

    data_dir = tmp_path_factory.mktemp("seed-index")
    return replace(
        Settings(), index=IndexSettings(data_dir=data_dir, seeds_dir=SEEDS)
    )


@pytest.fixture(scope="session")
def seed_index(seed_settings, encoder):
    """The seed corpus indexed once for the whole session (the real pipeline, saved to disk)."""
    from qa.service import QAService

    return QAService.build(seed_settings, encoder)


@pytest.fixture(scope="session")
def seed_service(seed_settings, seed_index, encoder):
    """A read-only QAService over the seed index (do not add or delete documents through it)."""
    from qa.service import QAService

    return QAService.open(seed_settings, encoder)


@pytest.fixture()
def fresh_service(seed_settings, seed_index, encoder, tmp_path):
    """A QAService over a private copy of the seed index, safe to modify."""
    import shutil

    from qa.service import QAService
    from qa.settings import IndexSettings

    data_dir = tmp_path / "data"
    shutil.copytree(seed_settings.index.data_dir, data_dir)
    settings = replace(seed_settings, index=IndexSettings(data_dir=data_dir, seeds_dir=SEEDS))
    return QAService.open(settings, encoder)


# --- the fast layer: the same pipeline on a deterministic fake encoder (tests/fakes.py) -----------

@pytest.fixture(scope="session")
def fake_encoder():
    """A deterministic Encoder that loads no model."""
    from fakes import FakeEncoder

    return FakeEncoder()


@pytest.fixture(scope="session")
def fake_store_dir(fake_encoder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory whose embedded store holds the seed articles, written from fake vectors."""
    from embeddings.documents import load_documents
    from embeddings.store import open_store
    from qa.writer import index_documents

    data_dir = tmp_path_factory.mktemp("fake-index")
    store = open_store("", data_dir=data_dir, model=fake_encoder.name, dim=fake_encoder.dimension)
    try:
        index_documents(store, fake_encoder, load_documents(SEEDS))
    finally:
        store.close()
    return data_dir


@pytest.fixture(scope="session")
def fake_index(fake_store_dir, fake_encoder):
    """The seed articles in the real embedded store, from fake vectors (read it, do not write)."""
    from embeddings.store import open_store

    store = open_store("", data_dir=fake_store_dir, model=fake_encoder.name, dim=fake_encoder.dimension)
    yield store
    store.close()


@pytest.fixture()
def fake_service(fake_store_dir, fake_encoder, tmp_path):
    """A QAService over a private copy of the fake store."""
    import shutil

    from qa.service import QAService, open_settings_store
    from qa.settings import IndexSettings, Settings

    data_dir = tmp_path / "data"
    shutil.copytree(fake_store_dir, data_dir)
    settings = replace(Settings(), index=IndexSettings(data_dir=data_dir, seeds_dir=SEEDS))
    return QAService(settings, open_settings_store(settings, fake_encoder), fake_encoder)
