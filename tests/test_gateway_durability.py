"""kill -9 under load: every request that got a complete answer is in the store after a restart, once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from servers import free_port, serve_process

CHAT = {"model": "fast", "messages": [{"role": "user", "content": "hi"}]}


def cli(db: str, *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "distillshield", "--db", db, *args], check=True,
                          capture_output=True, text=True).stdout


def start(db: str, upstream: str, port: int, spool: str) -> subprocess.Popen:
    # a minute between writes: every record is still in the writer's memory when the process is killed
    return serve_process(port, "--db", db, "-s", "log_flush_ms", "60000", "-s", "log_batch_size", "100000",
                         "-s", "detect", "false", "-s", "spool", spool, "serve", "--port", str(port),
                         "--upstream", upstream)


def answered_ids(port: int, key: str, requests: int) -> list[str]:
    """Send requests (half of them streamed) from 8 clients; the ids of those answered in full."""
    def one(number: int) -> str | None:
        body = {**CHAT, "stream": number % 2 == 0}
        try:
            response = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=body, timeout=30,
                                  headers={"Authorization": f"Bearer {key}"})
        except httpx.HTTPError:
            return None
        complete = response.status_code == 200 and (not body["stream"] or "[DONE]" in response.text)
        return response.headers["x-request-id"] if complete else None

    with ThreadPoolExecutor(8) as pool:
        return [found for found in pool.map(one, range(requests)) if found]


@pytest.mark.parametrize("spool", ["write", "off"])
@pytest.mark.slow
def test_kill_9_loses_no_answered_exchange(tmp_path, fake_upstream, spool):
    db = str(tmp_path / "gw.db")
    cli(db, "accounts", "create", "load", "--rpm", "0", "--tpm", "0", "--concurrency", "0", "--tpd", "0")
    key = json.loads(cli(db, "keys", "create", "--account", "load", "--json"))["key"]
    port = free_port()
    process = start(db, fake_upstream.url + "/v1", port, spool)
    answered = answered_ids(port, key, 60)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)

    restarted = start(db, fake_upstream.url + "/v1", port, spool)
    try:
        restarted.send_signal(signal.SIGTERM)       # a clean stop writes whatever the restart replayed
        restarted.wait(60)
    finally:
        restarted.kill()
    stored = [json.loads(line)["id"] for line in cli(db, "export").splitlines() if line.strip()]
    assert len(answered) == 60
    if spool == "off":      # the scenario is real: without the spool, the records in memory are gone
        assert len(set(answered) - set(stored)) > 0
        return
    assert sorted(stored) == sorted(answered)       # each answered exchange exactly once
    assert not list((tmp_path / "gw.db.spool").glob("*.spool")) or all(
        path.stat().st_size == 0 for path in (tmp_path / "gw.db.spool").glob("*.spool"))


@pytest.mark.slow
def test_only_the_end_of_a_stream_waits_for_its_record(gateway):
    """Each chunk leaves as it comes (the first token is not held back); only the one carrying [DONE] waits."""
    started = time.monotonic()
    arrivals = []
    with httpx.stream("POST", gateway.api_url + "/chat/completions", headers=gateway.headers(), timeout=30,
                      json={"model": "slow-400", "messages": [{"role": "user", "content": "hi"}], "stream": True}) as r:
        for chunk in r.iter_raw():
            arrivals.append((time.monotonic() - started, chunk))
    first_word = next(at for at, chunk in arrivals if b"Hello" in chunk)
    # 9 words, 400 ms apart: the first comes at 0.4 s (holding each chunk for the next would make it 0.8 s)
    assert first_word < 0.65 and arrivals[-1][0] > 3.0
    assert b"[DONE]" in arrivals[-1][1]
    assert gateway.records()[0]["response"]["choices"][0]["message"]["content"].startswith("Hello there")
