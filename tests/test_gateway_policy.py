"""Live detection in the gateway and the graduated responses: flag, throttle, harden, block; overrides; records."""

from __future__ import annotations

import json
import os
import secrets
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import orjson
import pytest
from click.testing import CliRunner

from distillshield.cli import _POLICY_OVERRIDES, main
from distillshield.detect import DetectorModel, DistillationScorer
from distillshield.detect.live import LiveDetector
from distillshield.errors import ConfigError
from distillshield.gateway.metrics import GatewayMetrics
from distillshield.gateway.policy import Policy, make_live_detector
from distillshield.records import Exchange, Settings, format_ts
from distillshield.audit.fingerprint import canary_test
from distillshield.store import POLICY_OVERRIDES, Store
from distillshield.watermark import MasterKey, account_key, key_path
from distillshield.watermark.canary import canary_phrase, canary_suffix

MESSAGES = [{"role": "user", "content": "Translate 'good morning' into French."}]
REDIS_URL = "redis://127.0.0.1:6379/0"


def harvest_model() -> DetectorModel:
    """A hand-set scorer: the log-odds rise with the share of requests asking for log-probabilities or n > 1.

    Its benign reference tops out at -4; an account whose every request asks for log-probabilities scores
    about +0.6 at its first checkpoint (5 requests), an ordinary one about -5.
    """
    scorer = DistillationScorer.from_weights({"logprob_share": 10.0, "multi_sample_share": 10.0}, intercept=-5.0)
    return DetectorModel(scorer, benign_max_scores=np.linspace(-4.8, -4.0, 200), trained_on={"test": True})


class Webhook:
    """A tiny HTTP server on loopback that keeps the JSON bodies POSTed to it."""

    def __init__(self, status: int = 200):
        received = self.received = []
        answer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(answer.status)
                self.end_headers()

            def log_message(self, *_args):
                pass

        self.status = status
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received

    def close(self):
        self.server.shutdown()


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


def admin(gateway) -> dict:
    return gateway.headers(gateway.admin_key)


def make_account(gateway, account_id: str, **fields) -> str:
    account = {"id": account_id, "rpm": 0, "tpm": 0, "concurrency": 0, "tpd": 0, **fields}
    assert httpx.post(gateway.url + "/admin/accounts", json=account, headers=admin(gateway)).status_code == 201
    return httpx.post(gateway.url + "/admin/keys", json={"account": account_id}, headers=admin(gateway)).json()["key"]


def set_policy(gateway, account_id: str, policy) -> httpx.Response:
    return httpx.patch(gateway.url + f"/admin/accounts/{account_id}", json={"policy": policy},
                       headers=admin(gateway))


def chat(gateway, key: str | None = None, **body) -> httpx.Response:
    return httpx.post(gateway.api_url + "/chat/completions", headers=gateway.headers(key), timeout=30,
                      json={"model": "fast", "messages": MESSAGES, **body})


def settle(gateway) -> None:
    """Wait until everything sent so far is logged and the live detector has seen it."""
    assert gateway.gateway.log_writer.wait_written()
    if gateway.gateway.detector is not None:
        assert gateway.gateway.detector.wait_idle()


# the live detector raises an account; the response follows ----------------------------------------------
@pytest.mark.slow
def test_live_detection_hardens_a_harvesting_account_and_spares_an_ordinary_one(start_gateway, webhook):
    gateway = start_gateway(detector_model=harvest_model(), alert_webhook_url=webhook.url,
                            policy_flag_fpr=0.01, policy_throttle_fpr=0.001, policy_harden_fpr=0.001)
    harvester = make_account(gateway, "harvester")
    for _ in range(5):
        assert chat(gateway, harvester, logprobs=True, top_logprobs=5).status_code == 200
        assert chat(gateway).status_code == 200
    settle(gateway)

    risk = gateway.gateway.detector.risk
    assert risk["harvester"].level == "harden" and risk["harvester"].flagged_after == 5
    assert any(reason["signal"] == "logprob_share" for reason in risk["harvester"].reasons)
    assert risk["default"].level == "none"

    refused = chat(gateway, harvester, logprobs=True)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "hardened_by_policy"
    assert "log-probabilities" in refused.json()["error"]["message"]
    assert chat(gateway, harvester).status_code == 200              # plain requests are still served
    assert chat(gateway, logprobs=True).status_code == 200          # the ordinary account is untouched

    listed = httpx.get(gateway.url + "/admin/risk", headers=admin(gateway)).json()
    assert [item["account"] for item in listed["data"]] == ["harvester"] and listed["detection"] is True

    events = httpx.get(gateway.url + "/admin/policy-events?account=harvester", headers=admin(gateway)).json()["data"]
    assert [(e["old_level"], e["new_level"], e["source"]) for e in events] == [("none", "harden", "detector")]
    assert events[0]["score"] > events[0]["threshold"] and events[0]["reasons"]

    alerts = webhook.wait_for(1)
    assert len(alerts) == 1
    assert alerts[0]["account"] == "harvester" and alerts[0]["level"] == "harden"
    assert alerts[0]["previous_level"] == "none" and alerts[0]["reasons"]
    deadline = time.monotonic() + 5
    while gateway.store.list_policy_events(account="harvester")[0]["alert"] != "sent":
        assert time.monotonic() < deadline, "the alert's outcome was not recorded"
        time.sleep(0.02)

    settle(gateway)
    records = [r for r in gateway.records() if r["endpoint"] == "/v1/chat/completions"]
    harvested = [r for r in records if r["account"] == "harvester"]
    assert all("policy" not in r for r in harvested[:5])            # before detection: untouched
    assert harvested[5]["policy"] == {"level": "harden", "source": "detector",
                                      "actions": ["flag", "throttle:0.25", "refuse_logprobs"]}
    assert harvested[5]["request"]["logprobs"] is True             # the log keeps what the client asked
    assert all("policy" not in r for r in records if r["account"] == "default")

    metrics = httpx.get(gateway.url + "/metrics", headers=admin(gateway)).text
    assert 'distillshield_policy_actions_total{action="refuse_logprobs",level="harden"} 1.0' in metrics
    assert 'distillshield_detect_exchanges_total{outcome="processed"}' in metrics
    assert "distillshield_detect_queue_depth" in metrics and "distillshield_detect_lag_seconds" in metrics
    assert 'distillshield_refusals_total{reason="policy"} 1.0' in metrics


@pytest.mark.slow
def test_a_detector_level_can_block_when_the_operator_allows_it(start_gateway):
    gateway = start_gateway(detector_model=harvest_model(), policy_block_fpr=0.001)
    harvester = make_account(gateway, "harvester")
    for _ in range(5):
        chat(gateway, harvester, n=2)
    settle(gateway)
    refused = chat(gateway, harvester)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "blocked_by_policy"


@pytest.mark.slow
def test_a_restarted_gateway_warms_its_detector_from_the_store(start_gateway):
    first = start_gateway(detector_model=harvest_model())
    harvester = make_account(first, "harvester")
    for _ in range(5):
        chat(first, harvester, logprobs=True)
    settle(first)
    events_before = len(first.store.list_policy_events())
    second = start_gateway(detector_model=harvest_model(), store_url=first.store.url)
    detector = second.gateway.detector
    deadline = time.monotonic() + 10
    while detector.level_of("harvester") != "harden":
        assert time.monotonic() < deadline, "the replay did not raise the account"
        time.sleep(0.02)
    assert detector.replayed >= 5 and detector.processed == 0
    assert chat(second, harvester, logprobs=True).status_code == 403
    assert len(second.store.list_policy_events()) == events_before   # a replay repeats no event


@pytest.mark.slow
def test_the_detector_runs_in_a_process_of_its_own(start_gateway):
    gateway = start_gateway(detector_model=harvest_model())
    detector = gateway.gateway.detector
    assert detector.running and detector.pid is not None and detector.pid != os.getpid()
    status = Path(f"/proc/{detector.pid}/status")
    if status.exists():                                              # Linux: the gateway is its parent
        assert f"PPid:\t{os.getpid()}\n" in status.read_text()
    harvester = make_account(gateway, "harvester")
    for _ in range(5):
        chat(gateway, harvester, logprobs=True)
    settle(gateway)
    assert detector.level_of("harvester") == "harden" and detector.processed >= 5
    gateway.server.__exit__(None, None, None)                        # shutdown drains, then stops the process
    assert not detector.running
    deadline = time.monotonic() + 10
    while Path(f"/proc/{detector.pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{detector.pid}/status").exists() or "zombie" in Path(
        f"/proc/{detector.pid}/status").read_text()


@pytest.mark.slow
def test_a_killed_detector_process_leaves_the_gateway_serving_with_detection_off(start_gateway, caplog):
    gateway = start_gateway(detector_model=harvest_model())
    detector = gateway.gateway.detector
    harvester = make_account(gateway, "harvester")
    for _ in range(5):
        chat(gateway, harvester, logprobs=True)
    settle(gateway)
    assert detector.level_of("harvester") == "harden"
    with caplog.at_level("ERROR", logger="distillshield.detect"):
        os.kill(detector.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while detector.running:
            assert time.monotonic() < deadline, "the gateway did not notice its detector died"
            time.sleep(0.02)
    assert "live detection is off: its process" in caplog.text and "killed by signal 9" in caplog.text

    for _ in range(3):                                               # serving goes on; the log keeps everything
        assert chat(gateway).status_code == 200
    assert chat(gateway, harvester, logprobs=True).status_code == 403   # levels already reached still apply
    assert gateway.gateway.log_writer.wait_written()
    assert detector.dropped == 4 and detector.wait_idle(1)
    assert len([r for r in gateway.records() if r["endpoint"] == "/v1/chat/completions"]) == 9
    listed = httpx.get(gateway.url + "/admin/risk", headers=admin(gateway)).json()
    assert listed["detection"] is False and [item["account"] for item in listed["data"]] == ["harvester"]
    metrics = httpx.get(gateway.url + "/metrics", headers=admin(gateway)).text
    assert "distillshield_detect_running 0.0" in metrics and "distillshield_detect_crashes_total 1.0" in metrics


# each response, pinned by an operator (no model needed) ------------------------------------------------
def test_block_refuses_every_request_with_openai_json(gateway):
    assert set_policy(gateway, "default", "block").status_code == 200
    refused = chat(gateway)
    assert refused.status_code == 403
    assert refused.json()["error"] == {"message": "This account's requests are blocked by the operator's usage "
                                                  "policy.", "type": "invalid_request_error", "param": None,
                                       "code": "blocked_by_policy"}
    assert httpx.post(gateway.api_url + "/completions", headers=gateway.headers(),
                      json={"model": "fast", "prompt": "x"}).status_code == 403
    assert httpx.get(gateway.api_url + "/models", headers=gateway.headers()).status_code == 403
    record = [r for r in gateway.records() if r["endpoint"] == "/v1/chat/completions"][0]
    assert record["status"] == 403
    assert record["policy"] == {"level": "block", "source": "operator", "actions": ["block"]}


def test_harden_refuses_samples_and_logprobs(gateway):
    set_policy(gateway, "default", "harden")
    for body, param in (({"n": 2}, "n"), ({"logprobs": True}, "logprobs"),
                        ({"logprobs": True, "top_logprobs": 3}, "logprobs")):
        refused = chat(gateway, **body)
        assert refused.status_code == 403, body
        assert refused.json()["error"]["code"] == "hardened_by_policy" and refused.json()["error"]["param"] == param
    legacy = httpx.post(gateway.api_url + "/completions", headers=gateway.headers(),
                        json={"model": "fast", "prompt": "x", "logprobs": 0})
    assert legacy.status_code == 403 and legacy.json()["error"]["code"] == "hardened_by_policy"
    assert chat(gateway, n=1, logprobs=False).status_code == 200


def test_harden_caps_the_answer_length_the_upstream_sees(start_gateway):
    gateway = start_gateway(policy_harden_max_tokens=64)
    set_policy(gateway, "default", "harden")

    def upstream_saw(**body) -> dict:
        response = chat(gateway, model="inspect", **body)
        assert response.status_code == 200
        return orjson.loads(response.json()["choices"][0]["message"]["content"])

    assert upstream_saw(max_tokens=1000)["max_tokens"] == 64
    assert upstream_saw()["max_tokens"] == 64
    assert upstream_saw(max_tokens=10)["max_tokens"] == 10
    capped = upstream_saw(max_completion_tokens=5000)
    assert capped["max_completion_tokens"] == 64
    records = [r for r in gateway.records() if r["endpoint"] == "/v1/chat/completions"]
    assert records[0]["request"]["max_tokens"] == 1000               # logged as the client asked
    assert records[0]["policy"]["actions"] == ["flag", "throttle:0.25", "cap_max_tokens:64"]
    assert records[2]["policy"]["actions"] == ["flag", "throttle:0.25"]


def test_harden_strips_reasoning_from_answers(gateway):
    plain = chat(gateway, model="think").json()["choices"][0]["message"]
    assert "<think>" in plain["content"] and "reasoning_content" in plain   # as served before hardening
    set_policy(gateway, "default", "harden")

    answer = chat(gateway, model="think").json()["choices"][0]["message"]
    assert answer == {"role": "assistant", "content": "The answer is 42."}

    streamed = chat(gateway, model="think", stream=True)
    assert streamed.status_code == 200
    assert "secret" not in streamed.text and "<think" not in streamed.text and "think>" not in streamed.text
    events = [orjson.loads(line[6:]) for line in streamed.text.splitlines()
              if line.startswith("data: {")]
    assert "".join(e["choices"][0]["delta"].get("content") or "" for e in events) == "The answer is 42."
    assert events[-1]["choices"][0]["finish_reason"] == "stop"
    assert streamed.text.rstrip().endswith("data: [DONE]")

    records = [r for r in gateway.records() if r["endpoint"] == "/v1/chat/completions"]
    assert "policy" not in records[0]
    for record in records[1:]:
        assert "strip_reasoning" in record["policy"]["actions"]
        assert record["response"]["choices"][0]["message"]["content"] == "The answer is 42."
        assert "secret" not in orjson.dumps(record).decode()


@pytest.mark.parametrize("limiter", ["memory", "redis"])
@pytest.mark.slow
def test_throttle_reduces_the_request_rate(start_gateway, limiter):
    options = {"redis_url": REDIS_URL, "redis_prefix": f"test-{secrets.token_hex(6)}"} if limiter == "redis" else {}
    gateway = start_gateway(policy_throttle_factor=0.25, **options)
    key = make_account(gateway, "busy", rpm=8)
    assert set_policy(gateway, "busy", "throttle").status_code == 200
    responses = [chat(gateway, key) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]      # 8 × 0.25 = 2 a minute
    assert responses[0].headers["x-ratelimit-limit-requests"] == "2"
    assert "limit 2" in responses[2].json()["error"]["message"]
    assert chat(gateway, key, logprobs=True, n=2).status_code == 429    # throttled, not hardened
    set_policy(gateway, "busy", "auto")
    assert chat(gateway, key).status_code == 200                        # back to 8 a minute
    records = [r for r in gateway.records() if r["account"] == "busy"]
    assert records[0]["policy"] == {"level": "throttle", "source": "operator", "actions": ["flag", "throttle:0.25"]}


def test_flag_only_records(gateway):
    set_policy(gateway, "default", "flag")
    answer = chat(gateway, model="think", n=2, logprobs=True)
    assert answer.status_code == 200 and "<think>" in answer.text
    record = [r for r in gateway.records() if r["endpoint"] == "/v1/chat/completions"][0]
    assert record["policy"] == {"level": "flag", "source": "operator", "actions": ["flag"]}


# overrides ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_allow_beats_a_high_score(start_gateway, webhook):
    gateway = start_gateway(detector_model=harvest_model(), alert_webhook_url=webhook.url)
    harvester = make_account(gateway, "harvester")
    assert set_policy(gateway, "harvester", "allow").status_code == 200
    for _ in range(6):
        assert chat(gateway, harvester, logprobs=True, n=2).status_code == 200
    settle(gateway)
    assert gateway.gateway.detector.level_of("harvester") == "harden"   # the detector still has its opinion
    assert chat(gateway, harvester, logprobs=True, n=2).status_code == 200
    assert all("policy" not in r for r in gateway.records() if r["account"] == "harvester")
    events = gateway.store.list_policy_events(account="harvester")
    assert [(e["new_level"], e["source"]) for e in events] == [("harden", "detector"), ("allow", "operator")]
    assert events[0]["alert"].startswith("skipped")
    assert webhook.received == []


def test_admin_api_validates_policy(gateway):
    bad = set_policy(gateway, "default", "nuke")
    assert bad.status_code == 400
    assert bad.json()["error"]["message"] == ("policy must be one of auto, allow, flag, throttle, harden, block, "
                                              "got 'nuke'")
    assert bad.json()["error"]["param"] == "policy"
    assert set_policy(gateway, "default", 3).status_code == 400
    assert set_policy(gateway, "nobody", "block").status_code == 404
    assert set_policy(gateway, "default", "harden").json()["policy"] == "harden"
    assert set_policy(gateway, "default", "harden").status_code == 200          # unchanged: no new event
    assert [(e["old_level"], e["new_level"], e["source"]) for e in gateway.store.list_policy_events()] == [
        ("auto", "harden", "operator")]
    assert httpx.get(gateway.url + "/admin/policy-events?limit=0", headers=admin(gateway)).status_code == 400
    assert httpx.get(gateway.url + "/admin/policy-events", headers=gateway.headers()).status_code == 403


def test_the_cli_sets_a_policy_and_lists_events(start_gateway):
    gateway = start_gateway(auth_cache_seconds=0.2)
    db = gateway.store.url
    runner = CliRunner()
    result = runner.invoke(main, ["--db", db, "accounts", "update", "default", "--policy", "block"])
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output)["policy"] == "block"
    time.sleep(0.3)                                  # another process: effective within auth_cache_seconds
    assert chat(gateway).status_code == 403
    bad = runner.invoke(main, ["--db", db, "accounts", "update", "default", "--policy", "nuke"])
    assert bad.exit_code == 2 and "nuke" in bad.output
    listed = runner.invoke(main, ["--db", db, "policy", "events", "--account", "default"])
    assert listed.exit_code == 0 and "auto -> block\toperator" in listed.output
    as_json = runner.invoke(main, ["--db", db, "policy", "events", "--json", "--since", "1h"])
    assert orjson.loads(as_json.output.splitlines()[0])["new_level"] == "block"
    assert runner.invoke(main, ["--db", db, "accounts", "list"]).output.count("policy=block") == 1
    assert _POLICY_OVERRIDES == POLICY_OVERRIDES


# the detector's plumbing ---------------------------------------------------------------------------------
def _exchange(account: str, i: int, **request) -> Exchange:
    return Exchange(id=f"ex_{account}_{i}", ts=format_ts(1_790_000_000 + i), account=account,
                    endpoint="/v1/chat/completions", request={"model": "m", "messages": MESSAGES, **request},
                    status=200)


@pytest.mark.slow
def test_detection_input_is_dropped_and_counted_when_it_lags_never_blocking():
    detector = LiveDetector(harvest_model(), [("flag", -3.0)], queue_size=8)
    detector.feed([_exchange("a", i) for i in range(5)])
    detector.feed([_exchange("a", i) for i in range(5, 10)])          # does not fit: dropped, counted
    assert (detector.depth, detector.dropped, detector.fed) == (5, 5, 5)
    detector.start()
    assert detector.wait_idle(10)
    assert detector.depth == 0 and detector.processed == 5 and detector.lag_seconds == 0
    detector.close()


def test_detector_levels_follow_the_thresholds_and_skip_non_model_traffic():
    changes = []
    detector = LiveDetector(harvest_model(), [("flag", -4.5), ("throttle", None), ("harden", 0.0)],
                            on_change=lambda old, risk: changes.append((old, risk.account, risk.level)))
    detector.process([_exchange("h", i, logprobs=True) for i in range(5)]
                     + [_exchange("anonymous", i, logprobs=True) for i in range(5)]
                     + [Exchange(id=f"x{i}", ts=format_ts(1_790_000_000 + i), account="ops",
                                 endpoint="/admin/accounts", request={}) for i in range(5)])
    assert changes == [("none", "h", "harden")]
    assert set(detector.risk) == {"h"}
    assert detector.risk["h"].threshold == 0.0


def test_live_detection_is_off_without_a_model(tmp_path, monkeypatch, caplog):
    store = Store(str(tmp_path / "s.db"))
    policy = Policy(Settings(), store, GatewayMetrics(lambda: 0))
    monkeypatch.setattr("distillshield.detect.scoring.default_model_path", lambda: tmp_path / "missing.json")
    with caplog.at_level("WARNING", logger="distillshield.policy"):
        assert make_live_detector(Settings(), policy) is None
    assert "live detection is off: no detector model" in caplog.text
    assert make_live_detector(Settings(detect=False), policy) is None
    with pytest.raises(ConfigError, match="does not exist"):               # a named model must exist
        make_live_detector(Settings(detect_model=str(tmp_path / "nope.json")), policy)
    with pytest.raises(ConfigError, match="policy_flag_fpr must be below 1"):
        make_live_detector(Settings(policy_flag_fpr=1.0), policy, model=harvest_model(), embedder=None)
    detector = make_live_detector(Settings(policy_block_fpr=0.0), policy, model=harvest_model(), embedder=None)
    assert [name for name, _ in detector.levels] == ["flag", "throttle", "harden"]   # block: never automatic


@pytest.mark.slow
def test_a_failing_webhook_is_retried_then_recorded_and_never_fails_a_request(start_gateway):
    hook = Webhook(status=500)
    try:
        gateway = start_gateway(detector_model=harvest_model(), alert_webhook_url=hook.url)
        gateway.gateway.alerts.backoff = 0.01
        harvester = make_account(gateway, "harvester")
        for _ in range(5):
            assert chat(gateway, harvester, logprobs=True).status_code == 200
        settle(gateway)
        assert len(hook.wait_for(3)) == 3
        deadline = time.monotonic() + 5
        while not (gateway.store.list_policy_events(account="harvester")[0]["alert"] or "").startswith("failed"):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert "HTTP Error 500" in gateway.store.list_policy_events(account="harvester")[0]["alert"]
    finally:
        hook.close()


def test_harden_ends_each_answer_with_the_accounts_canary(start_gateway):
    """With ``canary`` on, a hardened account's answers end with its keyed phrase, streamed or not; the traffic
    log keeps what was served, and the audit's canary test finds the phrase and names the account."""
    gateway = start_gateway(canary=True)
    master = MasterKey.load(key_path(gateway.gateway.settings.watermark_key_path, gateway.gateway.settings.store_url))
    suffix = canary_suffix(canary_phrase(master.account_keys("default")[0]))
    assert chat(gateway).json()["choices"][0]["message"]["content"] == "Hello there, this is a fake answer."        # not hardened: as served
    set_policy(gateway, "default", "harden")

    assert chat(gateway).json()["choices"][0]["message"]["content"] == "Hello there, this is a fake answer." + suffix
    assert chat(gateway, model="think").json()["choices"][0]["message"]["content"] == "The answer is 42." + suffix
    streamed = chat(gateway, model="think", stream=True)
    events = [orjson.loads(line[6:]) for line in streamed.text.splitlines() if line.startswith("data: {")]
    assert "".join(e["choices"][0]["delta"].get("content") or "" for e in events) == "The answer is 42." + suffix
    assert events[-1]["choices"][0]["finish_reason"] == "stop" and streamed.text.rstrip().endswith("data: [DONE]")

    records = [r for r in gateway.records() if r["endpoint"] == "/v1/chat/completions"]
    assert "policy" not in records[0]
    assert records[1]["policy"]["actions"][-1] == "canary" and "strip_reasoning" not in records[1]["policy"]["actions"]
    assert records[2]["policy"]["actions"][-2:] == ["strip_reasoning", "canary"]
    assert records[1]["response"]["choices"][0]["message"]["content"].endswith(suffix)
    metrics = httpx.get(gateway.url + "/metrics", headers={"Authorization": f"Bearer {gateway.admin_key}"}).text
    assert 'action="canary",level="harden"} 3.0' in metrics and 'action="strip_reasoning",level="harden"} 2.0' in metrics
    found = canary_test([r["response"]["choices"][0]["message"]["content"] for r in records[1:3]],
                        {"default": [canary_phrase(k) for k in master.account_keys("default")],
                         **{f"other-{i}": [canary_phrase(account_key(b"x" * 32, str(i)))] for i in range(100)}})
    # the account is named, and no decoy comes near it: a decoy phrase may share a few syllables with the text by
    # chance (that account is listed, with its weak Holm-adjusted p-value), never a strong match
    named, *others = found.detail["attribution"]
    assert found.p_value < 1e-12 and named["account"] == "default" and named["p_value"] == found.p_value
    assert all(row["p_value"] > 1e-4 for row in others)


class RecordingBackend:
    """The backend seam: records what the gateway asks of the real backend, then passes it on."""

    def __init__(self, backend):
        self.backend = backend
        self.requests = []

    async def handle(self, request):
        self.requests.append(request)
        return await self.backend.handle(request)

    def __getattr__(self, name):
        return getattr(self.backend, name)


def test_a_hardened_accounts_requests_reach_the_backend_marked_for_a_stronger_watermark(gateway):
    recording = gateway.gateway.backend = RecordingBackend(gateway.gateway.backend)
    assert chat(gateway).status_code == 200
    set_policy(gateway, "default", "harden")
    assert chat(gateway).status_code == 200
    assert [request.hardened for request in recording.requests] == [False, True]
