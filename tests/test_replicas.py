"""Three replicas on one PostgreSQL store and one Redis, as docs/deploy.md runs them."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa

from servers import free_port, serve_process

POSTGRES = "postgresql://127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/0"
CHAT = {"model": "fast", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def database():
    name = f"ds_replicas_{secrets.token_hex(4)}"
    admin = sa.create_engine(f"postgresql+psycopg://127.0.0.1:5432/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    yield f"{POSTGRES}/{name}"
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


class Replicas:
    """Gateways on one store and one Redis, started with ``launch``; ``admin_key`` works on all of them."""

    def __init__(self, db: str, upstream: str, folder, prefix: str | None = None):
        self.db, self.upstream, self.folder = db, upstream, folder
        self.prefix = prefix or f"ds-test-{secrets.token_hex(4)}"
        self.extra: list[str] = []
        self.ports: list[int] = []
        self.processes: list[subprocess.Popen] = []
        self.cli("accounts", "create", "admin", "--admin", "--rpm", "0", "--tpm", "0", "--concurrency", "0",
                 "--tpd", "0")
        self.admin_key = json.loads(self.cli("keys", "create", "--account", "admin", "--json"))["key"]

    def launch(self, count: int, *extra: str) -> None:
        self.extra = list(extra)
        self.ports = [free_port() for _ in range(count)]
        self.processes = [self.start(port) for port in self.ports]

    def cli(self, *args: str) -> str:
        return subprocess.run([sys.executable, "-m", "distillshield", "--db", self.db, *args], check=True,
                              capture_output=True, text=True, cwd=self.folder).stdout

    def start(self, port: int) -> subprocess.Popen:
        return serve_process(port, "--db", self.db, "-s", "redis_url", REDIS_URL, "-s", "redis_prefix", self.prefix,
                             "-s", "detect", "false", "-s", "log_flush_ms", "30000", *self.extra,
                             "serve", "--port", str(port), "--upstream", self.upstream, cwd=self.folder)

    def post(self, replica: int, key: str, body: dict, headers: dict | None = None) -> httpx.Response:
        return httpx.post(f"http://127.0.0.1:{self.ports[replica]}/v1/chat/completions", json=body, timeout=30,
                          headers={"Authorization": f"Bearer {key}", **(headers or {})})

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.mark.slow
def test_three_replicas_share_limits_overrides_and_a_log_that_survives_kill_9(database, fake_upstream, tmp_path):
    replicas = Replicas(database, fake_upstream.url + "/v1", tmp_path)
    replicas.launch(3)
    try:
        replicas.cli("accounts", "create", "shared", "--rpm", "20", "--tpm", "0", "--concurrency", "0", "--tpd", "0")
        key = json.loads(replicas.cli("keys", "create", "--account", "shared", "--json"))["key"]
        time.sleep(1.2)                         # past the replicas' key cache

        # 50 concurrent clients on one account with rpm 20, spread over the replicas: exactly 20 admitted
        with ThreadPoolExecutor(50) as pool:
            responses = list(pool.map(lambda number: replicas.post(number % 3, key, CHAT), range(50)))
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200] * 20 + [429] * 30
        answered = {response.headers["x-request-id"] for response in responses}

        # kill -9 one replica with its records still in memory, start it again: nothing answered is lost
        os.kill(replicas.processes[1].pid, signal.SIGKILL)
        replicas.processes[1].wait(10)
        replicas.processes[1] = replicas.start(replicas.ports[1])

        # an operator's override reaches every replica within a second (the key cache's lifetime)
        replicas.cli("accounts", "update", "shared", "--policy", "block")
        time.sleep(1.2)
        for replica in range(3):
            refused = replicas.post(replica, key, CHAT)
            assert refused.status_code == 403 and refused.json()["error"]["code"] == "blocked_by_policy"
            answered.add(refused.headers["x-request-id"])
    finally:
        replicas.stop()
    stored = [json.loads(line)["id"] for line in replicas.cli("export", "--account", "shared").splitlines()]
    assert sorted(stored) == sorted(answered)
