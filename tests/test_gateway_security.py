"""The security review's findings (issue 16), each tried over real HTTP as an attacker would."""

from __future__ import annotations

import os
import socket
import stat
import time

import httpx
import orjson
import pytest

import fake_upstream
from distillshield.records import Settings
from distillshield.server import upstream_key

CHAT = {"model": "fast", "messages": [{"role": "user", "content": "hi"}]}
ODD_CHAT_PATHS = ["/v1/./chat/completions", "/v1/x/../chat/completions", "/v1/chat/completions/",
                  "/v1//chat/completions", "/v1/chat%2fcompletions", "/v1/chat/%2e/completions"]
ESCAPES = ["/v1/%2e%2e/metrics", "/v1/..%2fadmin/accounts", "/v1/%2e%2e/%2e%2e/etc/passwd", "/v1/../secret",
           "/v1/%2E%2E/x", "/v1/..%5cx", "/v1/models%3f/../../x"]


def raw_request(url: str, method: str, target: str, *, headers: dict | None = None,
                body: bytes = b"") -> tuple[int, dict, bytes]:
    """One HTTP/1.1 request with the target sent byte for byte (clients normalise dot segments)."""
    host, port = url.removeprefix("http://").split(":")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Connection: close",
             f"Content-Length: {len(body)}", *(f"{name}: {value}" for name, value in (headers or {}).items())]
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    response_headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        response_headers[name.strip().lower()] = value.strip()
    if response_headers.get("transfer-encoding") == "chunked":
        payload = _unchunk(payload)
    return int(status_line.split()[1]), response_headers, payload


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2:]
    return out


def make_account(gateway, name: str, **limits) -> str:
    gateway.store.create_account(name, rpm=limits.get("rpm", 0), tpm=limits.get("tpm", 0),
                                 concurrency=limits.get("concurrency", 0), tpd=limits.get("tpd", 0))
    if limits.get("policy"):
        gateway.store.update_account(name, policy=limits["policy"])
    return gateway.store.create_key(name)[1]


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def deep_body(levels: int = 300) -> bytes:
    return b'{"x":' + b"[" * levels + b"]" * levels + b"}"


# 1. critical: one unauthenticated request must not stop the traffic log -----------------------------------
@pytest.mark.slow
def test_a_deeply_nested_body_never_stops_the_traffic_log(gateway):
    assert httpx.post(gateway.api_url + "/chat/completions", content=deep_body(), timeout=10).status_code == 401
    keyed = httpx.post(gateway.api_url + "/chat/completions", content=deep_body(), headers=gateway.headers(),
                       timeout=10)
    assert keyed.status_code == 400 and "nested deeper than" in keyed.json()["error"]["message"]
    forwarded = httpx.post(gateway.api_url + "/embeddings", content=deep_body(), headers=gateway.headers(), timeout=10)
    assert forwarded.status_code == 200           # a pass-through path forwards the bytes as they are
    for _ in range(60):                           # past the depth at which the old writer's queue filled up
        assert httpx.post(gateway.api_url + "/chat/completions", json=CHAT, headers=gateway.headers(),
                          timeout=10).status_code == 200
    records = gateway.records()
    assert len(records) == 63
    assert gateway.gateway.log_writer._thread.is_alive()
    stored = next(record for record in records if record["endpoint"] == "/v1/embeddings")
    assert "nested deeper" in stored["log_note"] or "cut" in stored["log_note"]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_the_writer_survives_a_record_it_cannot_build_and_restarts_a_dead_thread(tmp_path):
    import asyncio

    from distillshield.store import LogWriter, Store

    class Broken:
        made = 0

        def __init__(self):
            Broken.made += 1
            self.id = f"ex_broken{Broken.made}"

        def to_exchange(self):
            raise RuntimeError("a bug in decoding")

    async def main():
        store = Store(str(tmp_path / "s.db"))
        writer = LogWriter(store, batch_size=1, flush_ms=1)
        writer.start()
        writer.submit(Broken())
        await writer.drain_waiting()
        assert await asyncio.to_thread(writer.wait_written, 10)
        writer._queue.put(None)                   # not a batch: the thread's loop must survive it
        writer.submit(Broken())
        await writer.drain_waiting()
        assert await asyncio.to_thread(writer.wait_written, 10)
        writer._queue.put(_KILL)                  # kill the thread outright: the next hand-over restarts it
        await asyncio.sleep(0.1)
        assert not writer._thread.is_alive()
        writer.submit(Broken())
        await writer.drain_waiting()
        assert await asyncio.to_thread(writer.wait_written, 10)
        assert writer.restarts == 1
        writer.close()
        return [row for row in store.iter_exchange_json()]

    rows = asyncio.run(main())
    assert len(rows) == 3 and all(orjson.loads(row)["log_error"] for row in rows)


class _Kill(BaseException):
    pass


class _KillOnIteration(list):
    def __iter__(self):
        raise _Kill


_KILL = _KillOnIteration()


def test_back_pressure_never_takes_the_thread_pool_key_look_ups_use(tmp_path):
    import asyncio
    import threading

    from distillshield.store import LogWriter, Store

    release = threading.Event()

    class SlowStore(Store):
        def insert_exchanges(self, rows):
            release.wait(30)
            super().insert_exchanges(rows)

    class Item:
        def __init__(self, number):
            self.number = number

        def to_exchange(self):
            from distillshield.records import Exchange
            return Exchange(id=f"ex_{self.number:08d}", ts="2026-12-01T00:00:00.000Z", account="a",
                            endpoint="/v1/x", request={})

    async def main():
        writer = LogWriter(SlowStore(str(tmp_path / "s.db")), queue_size=2, batch_size=1, flush_ms=1)
        writer.start()
        for number in range(200):
            writer.submit(Item(number))
            writer._hand_over()
        # 200 batches wait for a writer that is stuck; the default pool must still answer at once
        started = time.monotonic()
        assert await asyncio.wait_for(asyncio.to_thread(lambda: 42), 2) == 42
        assert time.monotonic() - started < 1
        assert writer.waiting_batches > 150
        release.set()
        await writer.drain_waiting()
        assert await asyncio.to_thread(writer.wait_written, 30)
        writer.close()
        return writer.written

    assert asyncio.run(main()) == 200


# 2. odd paths: one canonical form, nothing outside /v1 reaches the upstream --------------------------------
@pytest.mark.parametrize("path", ODD_CHAT_PATHS)
def test_odd_paths_to_a_checked_endpoint_are_refused_before_any_policy(gateway, path):
    hardened = make_account(gateway, "hardened", policy="harden", tpm=1000)
    body = orjson.dumps({**CHAT, "model": "inspect", "logprobs": True, "n": 3, "max_tokens": 100_000})
    status, headers, payload = raw_request(gateway.url, "POST", path, headers={
        **bearer(hardened), "Content-Type": "application/json"}, body=body)
    assert status == 404, payload
    assert orjson.loads(payload)["error"]["code"] == "invalid_path"
    assert headers["x-request-id"].startswith("ex_")
    records = gateway.records()
    assert [record["account"] for record in records] == ["hardened"] and records[0]["status"] == 404


@pytest.mark.parametrize("path", ESCAPES)
def test_no_path_escapes_v1_on_the_upstream(gateway, path):
    fake_upstream.ESCAPED.clear()
    status, _, payload = raw_request(gateway.url, "GET", path, headers=gateway.headers())
    assert status in (400, 404), payload
    assert fake_upstream.ESCAPED == []
    assert len(gateway.records()) == 1


def test_the_upstream_redirect_is_not_followed(start_gateway):
    gateway = start_gateway(upstream_passthrough="GET /v1/redirect")
    fake_upstream.ESCAPED.clear()
    response = httpx.get(gateway.api_url + "/redirect", headers=gateway.headers())
    assert response.status_code == 502 and fake_upstream.ESCAPED == []


def test_a_token_limit_cannot_be_skipped_by_an_odd_path(gateway):
    key = make_account(gateway, "small", tpm=300)
    body = orjson.dumps({**CHAT, "max_tokens": 5000})
    for path in ("/v1/chat/completions", "/v1/./chat/completions"):
        status, _, _ = raw_request(gateway.url, "POST", path, headers={**bearer(key),
                                                                         "Content-Type": "application/json"}, body=body)
        assert status in (404, 429)


# 3. pass-through paths are charged and follow the policy ---------------------------------------------------
def test_pass_through_usage_is_charged(gateway):
    key = make_account(gateway, "responses", tpm=1_000_000)
    first = httpx.post(gateway.api_url + "/responses", json={"model": "fast", "input": "hi"}, headers=bearer(key))
    assert first.status_code == 200
    second = httpx.post(gateway.api_url + "/chat/completions", json={**CHAT, "max_tokens": 10}, headers=bearer(key))
    remaining = int(second.headers["x-ratelimit-remaining-tokens"])
    assert remaining <= 1_000_000 - fake_upstream.RESPONSES_USAGE["total_tokens"]


def test_a_hardened_account_gets_no_pass_through_path(gateway):
    key = make_account(gateway, "hardened", policy="harden")
    refused = httpx.post(gateway.api_url + "/responses", json={"model": "fast", "input": "hi"}, headers=bearer(key))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "hardened_by_policy"
    assert httpx.get(gateway.api_url + "/models", headers=bearer(key)).status_code == 200
    assert gateway.records()[0]["policy"]["actions"][-1] == "refuse_endpoint"


def test_a_user_key_cannot_delete_upstream_models(gateway):
    response = httpx.delete(gateway.api_url + "/models/fast", headers=gateway.headers())
    assert response.status_code == 404


# 4. anonymous traffic: its own limit, and no stranger's text in the log ------------------------------------
def test_anonymous_bodies_are_kept_as_size_and_hash(gateway):
    body = b'{"secret": "' + b"a" * 3_000_000 + b'"}'
    assert httpx.post(gateway.api_url + "/chat/completions", content=body, timeout=30).status_code == 401
    record = gateway.records()[0]
    assert record["account"] == "anonymous"
    assert record["request"] == {"body_bytes": len(body), "body_sha256": __import__("hashlib").sha256(body).hexdigest(),
                                 "body_kept": False}
    assert len(orjson.dumps(record)) < 2000


def test_anonymous_requests_meet_a_per_address_limit(start_gateway):
    gateway = start_gateway(anonymous_rpm=3)
    statuses = [httpx.post(gateway.api_url + "/chat/completions", json=CHAT).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    assert httpx.post(gateway.api_url + "/chat/completions", json=CHAT, headers=gateway.headers()).status_code == 200
    assert len(gateway.records()) == 6


# 5. what a request is charged: streams without usage, and the larger of two token caps ----------------------
def test_a_stream_without_usage_is_charged_what_it_carried(gateway):
    key = make_account(gateway, "streamer", tpm=1_000_000)
    with httpx.stream("POST", gateway.api_url + "/chat/completions", headers=bearer(key),
                      json={**CHAT, "model": "silent-2000", "stream": True, "max_tokens": 10}) as response:
        assert response.status_code == 200
        response.read()
    after = httpx.post(gateway.api_url + "/chat/completions", json={**CHAT, "max_tokens": 10}, headers=bearer(key))
    used = 1_000_000 - int(after.headers["x-ratelimit-remaining-tokens"])
    assert used >= 2000


def test_the_larger_of_max_tokens_and_max_completion_tokens_is_reserved(gateway):
    key = make_account(gateway, "caps", tpm=200_000)
    response = httpx.post(gateway.api_url + "/chat/completions", headers=bearer(key),
                          json={**CHAT, "max_tokens": 1, "max_completion_tokens": 500_000})
    assert response.status_code == 429 and "too large" in response.json()["error"]["message"]


# 6. a malformed upstream stream releases the account's slot and is logged ----------------------------------
def test_a_malformed_stream_event_neither_locks_the_account_nor_loses_the_record(gateway):
    key = make_account(gateway, "single", concurrency=1)
    for _ in range(2):
        with httpx.stream("POST", gateway.api_url + "/chat/completions", headers=bearer(key),
                          json={**CHAT, "model": "malformed", "stream": True}) as response:
            assert response.status_code == 200
            assert b"still here" in response.read()
    assert httpx.post(gateway.api_url + "/chat/completions", json=CHAT, headers=bearer(key)).status_code == 200
    records = gateway.records()
    assert len(records) == 3
    assert records[0]["response"]["choices"][0]["message"]["content"] == "still here"


# 7. hardening: what may not be asked, and what is not forwarded --------------------------------------------
@pytest.mark.parametrize("field, value", [("prompt_logprobs", 5), ("best_of", 3), ("logit_bias", {"50256": 100}),
                                          ("logprobs", True)])
def test_hardening_refuses_every_way_to_log_probabilities_or_several_answers(gateway, field, value):
    key = make_account(gateway, "hardened", policy="harden")
    refused = httpx.post(gateway.api_url + "/chat/completions", json={**CHAT, field: value}, headers=bearer(key))
    assert refused.status_code == 403 and refused.json()["error"]["param"] == field


def test_hardening_forwards_only_the_parameters_it_knows(gateway):
    key = make_account(gateway, "hardened", policy="harden")
    answer = httpx.post(gateway.api_url + "/chat/completions", headers=bearer(key),
                        json={**CHAT, "model": "inspect", "reasoning_effort": "high", "echo": True,
                              "temperature": 0.5})
    forwarded = orjson.loads(answer.json()["choices"][0]["message"]["content"])
    assert "reasoning_effort" not in forwarded and "echo" not in forwarded and forwarded["temperature"] == 0.5
    assert "drop_params:echo,reasoning_effort" in gateway.records()[0]["policy"]["actions"]


# 8. the client address ------------------------------------------------------------------------------------
def test_x_forwarded_for_is_ignored_unless_trusted_then_its_last_entry_counts(start_gateway):
    untrusted = start_gateway()
    httpx.post(untrusted.api_url + "/chat/completions", json=CHAT, headers={
        **untrusted.headers(), "X-Forwarded-For": "6.6.6.6"})
    assert untrusted.records()[0]["ip"] == "127.0.0.1"
    trusted = start_gateway(trust_forwarded_for=True)
    httpx.post(trusted.api_url + "/chat/completions", json=CHAT, headers={
        **trusted.headers(), "X-Forwarded-For": "6.6.6.6, 203.0.113.9"})
    assert trusted.records()[0]["ip"] == "203.0.113.9"


# 9. no session is shared between accounts upstream ----------------------------------------------------------
def test_accounts_share_no_upstream_cookies(start_gateway):
    gateway = start_gateway(upstream_passthrough="GET /v1/cookie")
    other = make_account(gateway, "other")
    first = httpx.get(gateway.api_url + "/cookie?who=default", headers=gateway.headers())
    assert first.json()["received"] == {}
    second = httpx.get(gateway.api_url + "/cookie?who=other", headers=bearer(other))
    assert second.json()["received"] == {}


# 10. errors do not leak the upstream's internals -----------------------------------------------------------
def test_bad_gateway_bodies_say_nothing_of_the_upstream(start_gateway):
    unreachable = start_gateway(upstream_url="http://127.0.0.1:9/v1")
    response = httpx.post(unreachable.api_url + "/chat/completions", json=CHAT, headers=unreachable.headers())
    assert response.status_code == 502
    assert "127.0.0.1" not in response.text and ":9" not in response.text
    gateway = start_gateway()
    failing = httpx.post(gateway.api_url + "/chat/completions", json={**CHAT, "model": "fail-500"},
                         headers=gateway.headers())
    assert failing.status_code == 502 and "fake failure" not in failing.text


# 11. the admin API answers bad input with 400, never 500 ---------------------------------------------------
@pytest.mark.parametrize("method, path, body", [
    ("POST", "/admin/accounts", {"id": "a1", "name": {"x": 1}}),
    ("POST", "/admin/accounts", {"id": "a2", "name": [1]}),
    ("POST", "/admin/accounts", {"id": "a3", "rpm": 2 ** 63 + 5}),
    ("POST", "/admin/accounts", {"id": ["a4"]}),
    ("POST", "/admin/accounts", {"id": "a5\n"}),
    ("PATCH", "/admin/accounts/default", {"name": {"x": 1}}),
    ("PATCH", "/admin/accounts/default", {"tpm": 10 ** 30}),
    ("POST", "/admin/keys", {"account": "default", "label": "x" * 1000}),
    ("GET", "/admin/policy-events?limit=%C2%B2", None),
    ("GET", "/admin/policy-events?limit=" + "9" * 30, None),
])
def test_admin_routes_answer_bad_input_with_400(gateway, method, path, body):
    response = httpx.request(method, gateway.url + path, json=body, headers=gateway.headers(gateway.admin_key))
    assert response.status_code == 400, response.text


# 12. secrets ----------------------------------------------------------------------------------------------
def test_secrets_are_masked_where_settings_are_shown():
    from click.testing import CliRunner

    from distillshield.cli import main
    result = CliRunner().invoke(main, ["-s", "upstream_key", "sk-very-secret", "-s", "store_url",
                                       "postgresql://ds:hunter2@db:5432/ds", "settings"])
    assert result.exit_code == 0
    assert "sk-very-secret" not in result.output and "hunter2" not in result.output
    assert "postgresql://ds:****@db:5432/ds" in result.output


def test_the_upstream_key_comes_from_a_file(tmp_path):
    from distillshield.errors import ConfigError
    path = tmp_path / "upstream.key"
    path.write_text("sk-from-file\n")
    assert upstream_key(Settings(upstream_key_file=str(path))) == "sk-from-file"
    assert upstream_key(Settings(upstream_key="sk-set", upstream_key_file=str(path))) == "sk-set"
    (tmp_path / "empty.key").write_text("\n")
    with pytest.raises(ConfigError, match="holds no key"):
        upstream_key(Settings(upstream_key_file=str(tmp_path / "empty.key")))


def test_export_files_are_readable_by_their_owner_only(tmp_path):
    from click.testing import CliRunner

    from distillshield.cli import main
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "s.db"), "export", "--out", str(tmp_path / "x.jsonl")])
    assert result.exit_code == 0
    assert stat.S_IMODE(os.stat(tmp_path / "x.jsonl").st_mode) == 0o600


def test_the_store_and_its_spill_file_are_readable_by_their_owner_only(tmp_path):
    from distillshield.store import LogWriter, Store
    Store(str(tmp_path / "new.db")).list_accounts()
    assert stat.S_IMODE(os.stat(tmp_path / "new.db").st_mode) == 0o600
    writer = LogWriter(Store(str(tmp_path / "other.db")), spill_path=tmp_path / "spill.jsonl")
    writer._spill([{"record": "{}"}])
    assert stat.S_IMODE(os.stat(tmp_path / "spill.jsonl").st_mode) == 0o600


# also noted: refused keys keep their identity ---------------------------------------------------------------
def test_requests_of_revoked_expired_and_disabled_keys_are_logged_under_their_account(gateway):
    revoked_id, revoked = gateway.store.create_key("default")
    gateway.store.revoke_key(revoked_id.key_id)
    expired_id, expired = gateway.store.create_key("default", expires_at=time.time() - 1)
    make_account(gateway, "gone")
    gone = gateway.store.create_key("gone")[1]
    gateway.store.update_account("gone", disabled=True)
    for key, status in ((revoked, 401), (expired, 401), (gone, 403)):
        assert httpx.post(gateway.api_url + "/chat/completions", json=CHAT, headers=bearer(key)).status_code == status
    wrong_secret = revoked[: -4] + "AAAA"
    assert httpx.post(gateway.api_url + "/chat/completions", json=CHAT, headers=bearer(wrong_secret)).status_code == 401
    records = gateway.records()
    assert [(record["account"], record["error"]["code"]) for record in records] == [
        ("default", "revoked_api_key"), ("default", "expired_api_key"), ("gone", "account_disabled"),
        ("anonymous", "invalid_api_key")]
    assert records[0]["request"] == CHAT


def test_every_answer_names_its_exchange(gateway):
    ok = httpx.post(gateway.api_url + "/chat/completions", json=CHAT, headers=gateway.headers())
    refused = httpx.post(gateway.api_url + "/chat/completions", json=CHAT)
    with httpx.stream("POST", gateway.api_url + "/chat/completions", headers=gateway.headers(),
                      json={**CHAT, "stream": True}) as streamed:
        streamed.read()
    ids = [ok.headers["x-request-id"], refused.headers["x-request-id"], streamed.headers["x-request-id"]]
    assert sorted(ids) == sorted(record["id"] for record in gateway.records())


def test_the_openapi_description_needs_the_admin_key(gateway):
    assert httpx.get(gateway.url + "/openapi.json").status_code == 401
    assert httpx.get(gateway.url + "/openapi.json", headers=gateway.headers()).status_code == 403
    document = httpx.get(gateway.url + "/openapi.json", headers=gateway.headers(gateway.admin_key)).json()
    assert "/v1/chat/completions" in document["paths"] and document["openapi"].startswith("3.")


def test_limits_that_cannot_be_checked_refuse_with_503_never_500(start_gateway):
    gateway = start_gateway(redis_url="redis://127.0.0.1:1/0")
    response = httpx.post(gateway.api_url + "/chat/completions", json=CHAT, headers=gateway.headers())
    assert response.status_code == 503 and response.json()["error"]["code"] == "service_unavailable"
    assert gateway.records()[0]["status"] == 503


# the second review (red team of the fixes above) -----------------------------------------------------------
def test_a_huge_user_agent_is_cut_in_the_log(gateway):
    assert httpx.post(gateway.api_url + "/chat/completions", json=CHAT,
                      headers={"User-Agent": "x" * 100_000}).status_code == 401
    record = gateway.records()[0]
    assert len(record["user_agent"]) == 512 and len(orjson.dumps(record)) < 2000


def test_a_refused_requests_large_body_is_logged_as_a_fingerprint(gateway):
    key = make_account(gateway, "blocked", policy="block")
    body = orjson.dumps({**CHAT, "messages": [{"role": "user", "content": "y" * 2_000_000}]})
    assert httpx.post(gateway.api_url + "/chat/completions", content=body, headers=bearer(key)).status_code == 403
    assert httpx.post(gateway.api_url + "/nowhere", content=body, headers=gateway.headers()).status_code == 404
    for record in gateway.records():
        assert record["request"]["body_bytes"] == len(body) and record["request"]["body_kept"] is False
        assert len(orjson.dumps(record)) < 10_000
    served = httpx.post(gateway.api_url + "/chat/completions", content=body, headers=gateway.headers())
    assert served.status_code == 200     # a served request keeps its prompt


def test_a_batch_of_prompts_is_reserved_per_prompt_and_refused_when_hardened(gateway):
    key = make_account(gateway, "batch", tpm=10_000)
    refused = httpx.post(gateway.api_url + "/completions", headers=bearer(key),
                         json={"model": "fast", "prompt": ["a"] * 200, "max_tokens": 99})
    assert refused.status_code == 429 and "too large" in refused.json()["error"]["message"]
    hardened = make_account(gateway, "hardened", policy="harden")
    refused = httpx.post(gateway.api_url + "/completions", headers=bearer(hardened),
                         json={"model": "fast", "prompt": ["a", "b"]})
    assert refused.status_code == 403 and refused.json()["error"]["param"] == "prompt"


def test_hardened_accounts_get_no_tool_calls_and_no_log_probabilities(gateway):
    key = make_account(gateway, "hardened", policy="harden")
    answer = httpx.post(gateway.api_url + "/chat/completions", headers=bearer(key), json={
        **CHAT, "model": "inspect", "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "auto"})
    forwarded = orjson.loads(answer.json()["choices"][0]["message"]["content"])
    assert "tools" not in forwarded and "tool_choice" not in forwarded


def test_every_x_forwarded_for_line_is_read_and_the_last_entry_counts(start_gateway):
    gateway = start_gateway(trust_forwarded_for=True)
    raw_request(gateway.url, "POST", "/v1/chat/completions", body=orjson.dumps(CHAT), headers={
        **gateway.headers(), "Content-Type": "application/json", "X-Forwarded-For": "6.6.6.6"} | {
        "x-forwarded-for": "203.0.113.9"})
    assert gateway.records()[0]["ip"] == "203.0.113.9"


def test_idle_windows_of_addresses_seen_once_are_forgotten():
    from distillshield.gateway.limits import MemoryLimiter
    from distillshield.store import Account
    limiter = MemoryLimiter(prune_above=100)
    for number in range(1000):
        anonymous = Account(id=f"anonymous@10.0.{number // 250}.{number % 250}", name="a", is_admin=False, rpm=5,
                            tpm=0, concurrency=0, tpd=0, disabled=False, created_at=0)
        limiter.admit_now(anonymous, 0, 1000.0 + number).finish(0)
    assert len(limiter._windows) < 200


@pytest.mark.parametrize("method, target", [("TRACE", "/v1/models"), ("PROPFIND", "/v1/chat/completions"),
                                            ("OPTIONS", "*"), ("POST", "/health"), ("PUT", "/v1/models")])
def test_odd_methods_and_targets_are_answered_and_logged(gateway, method, target):
    status, headers, _ = raw_request(gateway.url, method, target, headers=gateway.headers())
    assert status in (400, 404, 405) and headers["x-request-id"].startswith("ex_")
    assert len(gateway.records()) == 1


def test_listing_models_counts_against_the_request_limit(gateway):
    key = make_account(gateway, "lister", rpm=2)
    statuses = [httpx.get(gateway.api_url + "/models", headers=bearer(key)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_a_checked_endpoint_forwards_no_query_string_and_only_json(gateway):
    answer = httpx.post(gateway.api_url + "/chat/completions?api-version=x&stream=true", headers={
        **gateway.headers(), "Content-Type": "text/plain"}, content=orjson.dumps({**CHAT, "model": "inspect"}))
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"].startswith("{")
    status, _, _ = raw_request(gateway.url, "GET", "/v1/..;/models", headers=gateway.headers())
    assert status == 404


@pytest.mark.parametrize("path", ["/admin/keys?account=%00", "/admin/policy-events?account=a%00b",
                                  "/admin/risk?account=%00"])
def test_admin_filters_refuse_what_is_not_an_account_id(gateway, path):
    assert httpx.get(gateway.url + path, headers=gateway.headers(gateway.admin_key)).status_code == 400


def test_a_record_that_cannot_be_decoded_keeps_its_envelope():
    from distillshield.gateway.calllog import Call
    call = Call(method="POST", endpoint="/v1/chat/completions", ip="203.0.113.5", user_agent="ua", log_content="redacted")
    call.body = deep_body(1000)
    call.payload = orjson.loads(deep_body(1000))      # redaction recurses past Python's limit
    call.finish()
    record = call.to_exchange()
    assert record.ip == "203.0.113.5" and record.user_agent == "ua"
    assert record.request["body_sha256"] and record.extra["log_error"]


# the third review -------------------------------------------------------------------------------------------
def test_an_account_past_its_refusals_gets_429_before_its_body_is_read(start_gateway):
    gateway = start_gateway(refused_rpm=5)
    key = make_account(gateway, "flooder", rpm=1000)
    body = orjson.dumps({"messages": [{"role": "user", "content": "z" * 60_000}]})     # no model: 400
    statuses = [httpx.post(gateway.api_url + "/chat/completions", content=body, headers=bearer(key)).status_code
                for _ in range(8)]
    assert statuses == [400] * 5 + [429] * 3
    records = gateway.records()
    assert all(record["request"] == {} for record in records[5:]) and records[7]["status"] == 429
    assert httpx.post(gateway.api_url + "/chat/completions", json=CHAT, headers=gateway.headers()).status_code == 200


def test_the_writer_is_backlogged_by_bytes_as_well_as_by_batches(tmp_path):
    from distillshield.store import LogWriter, Store

    class Big:
        def size(self):
            return 10_000

    writer = LogWriter(Store(str(tmp_path / "s.db")), queue_bytes=25_000)
    for _ in range(3):
        writer.pending_bytes += Big().size()
    assert writer.backlogged


def test_the_live_detector_drops_batches_past_its_bytes_for_detection_only():
    from distillshield.detect.live import LiveDetector
    from test_gateway_policy import harvest_model

    detector = LiveDetector(harvest_model(), [("flag", 0.0)], queue_bytes=1000)
    detector.feed([b"x" * 600])
    detector.feed([b"x" * 600])          # would pass 1000 bytes waiting
    assert detector.fed == 1 and detector.dropped == 1
