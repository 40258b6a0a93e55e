from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from distillshield.gateway import Gateway
from distillshield.records import Settings
from distillshield.server import UVICORN_OPTIONS, bootstrap_keys, build_gateway
from distillshield.store import Store

from fake_upstream import app as fake_upstream_app
from servers import ServerThread


def pytest_collection_modifyitems(items):
    """A test that loads the built-in model is slow too (`make test-fast` leaves it out)."""
    for item in items:
        if item.get_closest_marker("model") is not None:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def fake_upstream():
    with ServerThread(fake_upstream_app) as server:
        yield server


@dataclass
class RunningGateway:
    url: str
    admin_key: str
    user_key: str
    store: Store
    gateway: Gateway
    server: ServerThread

    @property
    def api_url(self) -> str:
        return self.url + "/v1"

    def headers(self, key: str | None = None) -> dict:
        return {"Authorization": f"Bearer {key or self.user_key}"}

    def records(self) -> list[dict]:
        import orjson
        self.gateway.log_writer.wait_written()
        return [orjson.loads(text) for text in self.store.iter_exchange_json()]


@pytest.fixture
def start_gateway(tmp_path: Path, fake_upstream):
    """Start a gateway over the fake upstream with the given settings; stopped at the end of the test."""
    running: list[ServerThread] = []

    def start(detector_model=None, **overrides) -> RunningGateway:
        # live detection is off unless a test asks for it (with a model of its own), so that a trained
        # model shipped in the package cannot change what the other tests expect
        values = {"store_url": str(tmp_path / f"gw{len(running)}.db"), "upstream_url": fake_upstream.url + "/v1",
                  "default_rpm": 0, "default_tpm": 0, "default_concurrency": 0, "default_tpd": 0,
                  "detect": detector_model is not None, "detect_embeddings": False, "canary": False}
        values.update(overrides)
        settings = Settings(**values)
        store = Store(settings.store_url)
        keys = bootstrap_keys(settings, store) or {"admin": store.create_key("admin")[1],
                                                   "user": store.create_key("default")[1]}
        gateway = build_gateway(settings, store, detector_model=detector_model)
        server = ServerThread(gateway.app, **UVICORN_OPTIONS).__enter__()
        running.append(server)
        return RunningGateway(server.url, keys["admin"], keys["user"], store, gateway, server)

    yield start
    for server in running:
        server.__exit__(None, None, None)


@pytest.fixture
def gateway(start_gateway) -> RunningGateway:
    return start_gateway()
