"""One detector for all replicas: reads the shared log in order, publishes levels in Redis, resumes after a kill."""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
import time

import httpx
import pytest
import redis

from detect_helpers import exchange
from distillshield.detect.live import RiskScorer, decode_records, level_thresholds
from distillshield.detect.service import DetectorService, SharedRisk, risk_json
from distillshield.store import Store
from distillshield.store.logwriter import exchange_row
from test_gateway_policy import harvest_model
from test_replicas import CHAT, REDIS_URL, Replicas, database  # noqa: F401  (database is a fixture)


def levels():
    model = harvest_model()
    return model, [(name, threshold) for name, threshold in level_thresholds(model, [("flag", 0.01), ("harden", 0.001)])]


def traffic() -> list:
    """Three harvesting accounts (log-probabilities, one template, one address) among eight ordinary ones."""
    exchanges = []
    for step in range(12):
        for number in range(3):
            exchanges.append(exchange(f"harvest{number}", f"Answer with care, item {step}: explain topic {step}",
                                      at=step * 10 + number, ip="203.0.113.7", logprobs=True, top_logprobs=5))
        for number in range(8):
            exchanges.append(exchange(f"user{number}", f"question {step} from user {number} about life {step * number}",
                                      at=step * 10 + 3 + number))
    return exchanges


def service(store: Store, prefix: str) -> DetectorService:
    model, named = levels()
    return DetectorService(store, redis.Redis.from_url(REDIS_URL), RiskScorer(model, named, link_every=40),
                           prefix=prefix, batch=25)


def drain(detector: DetectorService) -> None:
    while detector.step():
        pass


def published(prefix: str) -> dict:
    client = redis.Redis.from_url(REDIS_URL)
    return {name.decode(): {key: value for key, value in json.loads(data).items() if key != "version"}
            for name, data in client.hgetall(f"{prefix}:risk").items()}


@pytest.fixture
def prefixes():
    made = []

    def make() -> str:
        made.append(f"ds-test-{secrets.token_hex(4)}")
        return made[-1]
    yield make
    client = redis.Redis.from_url(REDIS_URL)
    for prefix in made:
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)


def test_a_killed_service_resumes_with_no_exchange_skipped_or_counted_twice(tmp_path, prefixes):
    store = Store(str(tmp_path / "log.db"))
    exchanges = traffic()
    store.insert_exchanges([exchange_row(item) for item in exchanges])

    whole = prefixes()
    drain(service(store, whole))
    expected = published(whole)
    assert {name for name, risk in expected.items() if risk["level"] == "harden"} == {"harvest0", "harvest1", "harvest2"}
    assert len({expected[f"harvest{n}"]["cluster"] for n in range(3)} - {None}) == 1   # linked: one cluster

    killed = prefixes()
    first = service(store, killed)
    for _ in range(3):
        first.step()
    committed = first.reader.seq
    unsent = first.reader.read()        # read and scored, never committed: the kill comes here
    assert unsent
    first.scorer.process(decode_records(record for _, record in unsent))
    second = service(store, killed)
    drain(second)
    assert second.replayed == committed
    assert second.replayed + second.processed == len(exchanges)
    assert published(killed) == expected


def test_rows_committed_after_later_rows_are_not_skipped(tmp_path, prefixes):
    store = Store(str(tmp_path / "log.db"))
    rows = [exchange_row(item) for item in traffic()[:4]]
    store.insert_exchanges([{**rows[0], "seq": 1}, {**rows[1], "seq": 2}, {**rows[3], "seq": 4}])
    detector = service(store, prefixes())
    assert detector.step() == 3 and detector.reader.gaps.keys() == {3}
    store.insert_exchanges([{**rows[2], "seq": 3}])          # the slow transaction commits
    assert detector.step() == 1 and not detector.reader.gaps
    assert detector.processed == 4


@pytest.mark.slow
def test_a_replica_keeps_the_last_levels_when_redis_is_away(prefixes):
    prefix = prefixes()
    model, named = levels()
    scorer = RiskScorer(model, named, link_every=40)
    risks = scorer.process(traffic())[1]
    client = redis.Redis.from_url(REDIS_URL)
    client.hset(f"{prefix}:risk", mapping={risk.account: risk_json(risk, 1) for risk in risks})
    shared = SharedRisk(REDIS_URL, prefix)
    shared.start()

    def wait_for(condition) -> None:
        deadline = time.monotonic() + 10
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.05)

    try:
        wait_for(lambda: shared.connected)                  # subscribed, then read the hash: the snapshot
        assert len(shared.risk) == len(risks)
        client.publish(f"{prefix}:risk-changes", "[" + ",".join(risk_json(r, 2).decode() for r in risks[:1]) + "]")
        wait_for(lambda: shared._versions.get(risks[0].account) == 2)     # a change announced after it
        assert shared._versions[risks[0].account] == 2
        assert shared.connected and shared.risk["harvest0"].level == "harden"
    finally:
        shared.close()
    away = SharedRisk("redis://127.0.0.1:1/0", prefix)
    away.risk.update(shared.risk)
    away.start()
    time.sleep(1.5)
    away.close()
    assert not away.connected and away.disconnects >= 1 and away.risk["harvest0"].level == "harden"


@pytest.mark.slow
def test_three_replicas_and_one_detector_see_a_campaign_spread_over_them_as_one(database, fake_upstream, tmp_path,
                                                                                 prefixes):
    model_path = tmp_path / "model.json"
    harvest_model().save(model_path)
    prefix = prefixes()
    settings = ["-s", "detect_model", str(model_path), "-s", "detect_link_every", "20", "-s", "policy_flag_fpr", "0.01",
                "-s", "policy_harden_fpr", "0.001", "-s", "trust_forwarded_for", "true"]
    replicas = Replicas(database, fake_upstream.url + "/v1", tmp_path, prefix)
    detector = None
    try:
        keys = {}
        for name in ("harvest0", "harvest1", "harvest2", "user0", "user1"):
            replicas.cli("accounts", "create", name, "--rpm", "0", "--tpm", "0", "--concurrency", "0", "--tpd", "0")
            keys[name] = json.loads(replicas.cli("keys", "create", "--account", name, "--json"))["key"]
        replicas.launch(3, *settings, "-s", "detect_source", "shared", "-s", "detect", "true")
        detector = subprocess.Popen([sys.executable, "-m", "distillshield", "--db", database, "-s", "redis_url",
                                     REDIS_URL, "-s", "redis_prefix", prefix, *settings, "detector"],
                                    cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for step in range(8):
            for number in range(3):              # each harvesting account through its own replica
                body = {**CHAT, "messages": [{"role": "user", "content": f"Answer with care, item {step}"}],
                        "logprobs": True}
                assert replicas.post(number, keys[f"harvest{number}"], body,
                                     headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 200
            for number in range(2):
                assert replicas.post(step % 3, keys[f"user{number}"], CHAT,
                                     headers={"X-Forwarded-For": f"198.51.100.{number}"}).status_code == 200
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            tables = [httpx.get(f"http://127.0.0.1:{port}/admin/risk?all=1", timeout=10,
                                headers={"Authorization": f"Bearer {replicas.admin_key}"}).json()["data"]
                      for port in replicas.ports]
            if all(sum(1 for row in table if row["level"] == "harden") == 3 for table in tables):
                break
            time.sleep(0.5)
        for table in tables:
            levels_seen = {row["account"]: row for row in table}
            assert {name for name, row in levels_seen.items() if row["level"] == "harden"} == {
                "harvest0", "harvest1", "harvest2"}
            assert len({levels_seen[f"harvest{n}"]["cluster"] for n in range(3)}) == 1
        for number in range(3):                   # and every replica applies it
            refused = replicas.post(number, keys["harvest0"], {**CHAT, "logprobs": True})
            assert refused.status_code == 403 and refused.json()["error"]["code"] == "hardened_by_policy"
        assert replicas.post(0, keys["user0"], CHAT).status_code == 200
    finally:
        if detector is not None:
            detector.send_signal(signal.SIGTERM)
            detector.wait(30)
        replicas.stop()
