"""Every request becomes one exchange record, in the design's shape, and none is ever lost."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest
from click.testing import CliRunner

from distillshield.cli import main
from distillshield.records import Exchange, read_exchanges
from distillshield.store import LogWriter, Store
from distillshield.store.logwriter import exchange_row

from servers import free_port

MESSAGES = [{"role": "user", "content": "a secret prompt"}]


async def mixed_traffic(gateway, count: int) -> list[int]:
    bodies = [
        {"model": "fast", "messages": MESSAGES},
        {"model": "fast", "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}},
        {"model": "fail-500", "messages": MESSAGES},
        {"model": "fast"},
    ]
    async with httpx.AsyncClient(timeout=30) as http:
        responses = await asyncio.gather(*[
            http.post(gateway.api_url + "/chat/completions", json=bodies[i % len(bodies)],
                      headers=gateway.headers() if i % 7 else {})
            for i in range(count)])
    return [response.status_code for response in responses]


@pytest.mark.slow
def test_n_requests_in_n_records_out(gateway):
    statuses = asyncio.run(mixed_traffic(gateway, 200))
    records = gateway.records()
    assert len(records) == 200
    assert sorted(r["status"] for r in records) == sorted(statuses)
    assert {401, 400, 502, 200} <= set(statuses)
    assert len({r["id"] for r in records}) == 200
    for record in records:
        Exchange.from_dict(record)
        assert record["endpoint"] == "/v1/chat/completions"
        assert record["ip"] == "127.0.0.1"
        assert isinstance(record["latency_ms"], float)


def test_record_shape_matches_the_design(gateway):
    httpx.post(gateway.api_url + "/chat/completions", headers=gateway.headers(),
               json={"model": "fast", "messages": MESSAGES, "temperature": 0.7, "max_tokens": 20, "n": 1})
    record = gateway.records()[0]
    assert list(record)[:9] == ["id", "ts", "account", "key_id", "ip", "user_agent", "endpoint", "request",
                                "response"]
    assert record["id"].startswith("ex_") and record["ts"].endswith("Z")
    assert record["account"] == "default"
    assert record["request"] == {"model": "fast", "messages": MESSAGES, "temperature": 0.7, "max_tokens": 20, "n": 1}
    assert record["response"]["usage"] == {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14}
    assert record["status"] == 200


def test_streamed_answers_are_logged_assembled_with_usage(gateway):
    httpx.post(gateway.api_url + "/chat/completions", headers=gateway.headers(),
               json={"model": "fast", "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}})
    response = gateway.records()[0]["response"]
    assert response["choices"][0]["message"] == {"role": "assistant", "content": "Hello there, this is a fake answer."}
    assert response["choices"][0]["finish_reason"] == "stop"
    assert response["usage"]["total_tokens"] == 14
    assert response["streamed"] is True


@pytest.mark.parametrize("mode", ["redacted", "none"])
def test_text_can_be_kept_out_of_the_log(start_gateway, mode):
    gateway = start_gateway(log_content=mode)
    httpx.post(gateway.api_url + "/chat/completions", headers=gateway.headers(),
               json={"model": "fast", "messages": MESSAGES})
    text = orjson.dumps(gateway.records()[0]).decode()
    assert "a secret prompt" not in text and "fake answer" not in text
    assert ("sha256" in text) == (mode == "redacted")
    assert '"total_tokens":14' in text


def test_admin_responses_are_not_logged(gateway):
    created = httpx.post(gateway.url + "/admin/keys", json={"account": "default"},
                         headers=gateway.headers(gateway.admin_key)).json()
    record = gateway.records()[0]
    assert record["endpoint"] == "/admin/keys" and record["status"] == 201
    assert created["key"] not in orjson.dumps(record).decode()


def test_export_filters_by_time_and_account(gateway, tmp_path: Path):
    admin = gateway.headers(gateway.admin_key)
    httpx.post(gateway.url + "/admin/accounts", json={"id": "other"}, headers=admin)
    other_key = httpx.post(gateway.url + "/admin/keys", json={"account": "other"}, headers=admin).json()["key"]
    for key in (gateway.user_key, other_key, gateway.user_key):
        httpx.post(gateway.api_url + "/chat/completions", headers=gateway.headers(key),
                   json={"model": "fast", "messages": MESSAGES})
    gateway.gateway.log_writer.wait_written()
    out = tmp_path / "default.jsonl"
    result = CliRunner().invoke(main, ["--db", gateway.store.url, "export", "--account", "default", "--out", str(out)])
    assert result.exit_code == 0, result.output
    exported = [item for item in read_exchanges(open(out, "rb"))]
    assert len(exported) == 2 and all(isinstance(item, Exchange) and item.account == "default" for item in exported)
    future = CliRunner().invoke(main, ["--db", gateway.store.url, "export", "--since", "2999-01-01T00:00:00Z"])
    assert future.output == ""
    recent = CliRunner().invoke(main, ["--db", gateway.store.url, "export", "--since", "1h"])
    assert len(recent.output.splitlines()) == 5  # 2 admin calls + 3 chat calls


def test_a_full_queue_makes_requests_wait_not_drop(start_gateway):
    gateway = start_gateway(log_queue_size=2, log_batch_size=1, log_flush_ms=0)
    statuses = asyncio.run(mixed_traffic(gateway, 120))
    assert len(gateway.records()) == len(statuses) == 120
    assert gateway.gateway.log_writer.waited_for_room > 0


class FailingStore(Store):
    """A store whose database refuses every write (disk full, server gone)."""

    def insert_exchanges(self, rows):
        raise OSError("disk full")


def test_a_failing_database_spills_records_to_a_file(tmp_path: Path, monkeypatch):
    store = FailingStore(str(tmp_path / "x.db"))
    spill = tmp_path / "spill.jsonl"
    writer = LogWriter(store, spill_path=spill, flush_ms=1)
    monkeypatch.setattr("distillshield.store.logwriter._RETRIES", 2)
    writer.start()
    records = [Exchange(id=f"ex_{i}", ts="2026-11-22T10:00:00.000Z", account="a", endpoint="/v1/x", request={})
               for i in range(5)]

    class Item:
        def __init__(self, exchange):
            self.exchange = exchange

        def to_exchange(self):
            return self.exchange

    async def submit_all():
        for record in records:
            writer.submit(Item(record))
        await writer.drain_waiting()
    asyncio.run(submit_all())
    writer.close()
    spilled = [line for line in spill.read_text().splitlines()]
    assert [orjson.loads(line)["id"] for line in spilled] == [r.id for r in records]
    assert writer.spilled == 5


def test_exchange_rows_keep_unknown_fields():
    exchange = Exchange.from_dict({"id": "ex_1", "ts": "2026-11-22T10:00:00.123Z", "account": "a",
                                   "endpoint": "/v1/chat/completions", "request": {}, "shard": 7})
    assert orjson.loads(exchange_row(exchange)["record"])["shard"] == 7


def _serve(db: str, upstream: str, port: int, log_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "distillshield", "--db", db, "serve", "--upstream", upstream, "--port", str(port)],
        stdout=open(log_path, "w"), stderr=subprocess.STDOUT)


def _unlimited_key(db: str) -> str:
    runner = CliRunner()
    made = runner.invoke(main, ["--db", db, "accounts", "create", "load", "--rpm", "0", "--tpm", "0",
                                "--concurrency", "0", "--tpd", "0"])
    assert made.exit_code == 0, made.output
    return orjson.loads(runner.invoke(main, ["--db", db, "keys", "create", "--account", "load", "--json"]).output)["key"]


def _wait_healthy(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "gateway exited early"
        try:
            if httpx.get(url + "/health").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("gateway did not start")


@pytest.mark.slow
def test_graceful_shutdown_under_load_loses_no_record(tmp_path: Path, fake_upstream):
    db = str(tmp_path / "shutdown.db")
    port = free_port()
    user_key = _unlimited_key(db)
    process = _serve(db, fake_upstream.url + "/v1", port, tmp_path / "serve.log")
    url = f"http://127.0.0.1:{port}"
    _wait_healthy(url, process)

    async def load() -> list[int]:
        done: list[int] = []
        async with httpx.AsyncClient(timeout=30) as http:
            async def one(i: int):
                try:
                    body = {"model": "slow-200", "messages": MESSAGES, "stream": i % 2 == 0}
                    response = await http.post(url + "/v1/chat/completions", json=body,
                                               headers={"Authorization": f"Bearer {user_key}"})
                    done.append(response.status_code)
                    return response.status_code
                except httpx.TransportError:
                    return None
            tasks = [asyncio.create_task(one(i)) for i in range(300)]
            while len(done) < 20:  # signal while the next wave of requests is in flight
                await asyncio.sleep(0.01)
            process.send_signal(signal.SIGTERM)
            return await asyncio.gather(*tasks)

    try:
        statuses = asyncio.run(load())
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    assert process.wait(60) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once drained
    answered = [status for status in statuses if status is not None]
    print(f"answered {len(answered)} of {len(statuses)}")
    assert len(answered) > 20  # requests in flight at the signal were finished, not cut
    store = Store(db)
    records = [orjson.loads(text) for text in store.iter_exchange_json()]
    served = [r for r in records if r["endpoint"] == "/v1/chat/completions"]
    assert len(served) >= len(answered)
    assert sum(r["status"] == 200 for r in served) >= answered.count(200)
    assert len(served) <= len(statuses)
    assert not os.path.exists(db + ".unwritten.jsonl")
