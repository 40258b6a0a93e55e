"""The console over HTTP: sign-in, sessions, CSRF, the pages, changes that reach the gateway, report files."""

from __future__ import annotations

import re

import httpx
import orjson
from starlette.testclient import TestClient

from distillshield.console import standalone_app
from distillshield.records import Settings
from distillshield.store import Store

MESSAGES = [{"role": "user", "content": "Translate 'good morning' into French."}]


def sign_in(gateway, key: str | None = None) -> httpx.Client:
    client = httpx.Client(base_url=gateway.url, follow_redirects=False, timeout=30)
    answer = client.post("/console/login", data={"key": key or gateway.admin_key, "next": "/console/accounts"})
    assert answer.status_code == 303 and answer.headers["location"] == "/console/accounts"
    return client


def csrf_of(client: httpx.Client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def chat(gateway, key: str | None = None) -> httpx.Response:
    return httpx.post(gateway.api_url + "/chat/completions", headers=gateway.headers(key), timeout=30,
                      json={"model": "fast", "messages": MESSAGES})


def test_nothing_answers_without_a_session(gateway):
    with httpx.Client(base_url=gateway.url, follow_redirects=False, timeout=30) as client:
        for path in ("/console/", "/console/accounts", "/console/accounts/default", "/console/events",
                     "/console/campaigns", "/console/reports", "/console/accounts/default/export"):
            answer = client.get(path)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login?next="), path
        refused = client.post("/console/accounts/default/policy", data={"policy": "block", "reason": "x"})
        assert refused.status_code == 401
        assert client.get("/console").status_code == 307
    assert gateway.store.get_account("default").policy == "auto"


def test_sign_in_is_refused_without_a_valid_admin_key(gateway):
    with httpx.Client(base_url=gateway.url, follow_redirects=False, timeout=30) as client:
        for key in ("", "nonsense", gateway.user_key, gateway.admin_key[:-2] + "xx"):
            answer = client.post("/console/login", data={"key": key})
            assert answer.status_code == 401 and "Sign-in refused" in answer.text, key
            assert "set-cookie" not in answer.headers
        revoked = gateway.store.create_key("admin")
        gateway.store.revoke_key(revoked[0].key_id)
        assert client.post("/console/login", data={"key": revoked[1]}).status_code == 401


def test_a_session_cookie_is_httponly_strict_and_ends_at_sign_out(gateway):
    with httpx.Client(base_url=gateway.url, follow_redirects=False, timeout=30) as client:
        answer = client.post("/console/login", data={"key": gateway.admin_key, "next": "https://evil.example/"})
        assert answer.headers["location"] == "/console/"            # no open redirect
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "max-age=" in cookie and "path=/console" in cookie
        assert client.get("/console/").status_code == 200
        token = csrf_of(client, "/console/")
        assert client.post("/console/logout", data={"csrf": token}).status_code == 303
        assert client.get("/console/").status_code == 303
    actions = [a["action"] for a in gateway.store.list_operator_actions()]
    assert actions[:2] == ["sign_out", "sign_in"]


def test_a_session_dies_with_its_admin_key(gateway):
    key, plaintext = gateway.store.create_key("admin", label="console")
    client = sign_in(gateway, plaintext)
    assert client.get("/console/accounts").status_code == 200
    gateway.store.revoke_key(key.key_id)
    assert client.get("/console/accounts").status_code == 303


def test_a_change_needs_the_csrf_token_and_a_reason(gateway):
    client = sign_in(gateway)
    token = csrf_of(client, "/console/accounts/default")
    for form in ({"policy": "block", "reason": "r"}, {"policy": "block", "reason": "r", "csrf": "wrong"}):
        refused = client.post("/console/accounts/default/policy", data=form)
        assert refused.status_code == 403 and "CSRF" in refused.text
    no_reason = client.post("/console/accounts/default/policy", data={"policy": "block", "csrf": token})
    assert no_reason.status_code == 400 and "reason" in no_reason.text
    bad = client.post("/console/accounts/default/policy", data={"policy": "nuke", "reason": "r", "csrf": token})
    assert bad.status_code == 400
    assert gateway.store.get_account("default").policy == "auto"
    assert chat(gateway).status_code == 200


def test_blocking_from_the_console_is_recorded_with_who_and_why_and_refuses_the_next_request(gateway):
    assert chat(gateway).status_code == 200                         # the key look-up is cached now
    client = sign_in(gateway)
    token = csrf_of(client, "/console/accounts/default")
    done = client.post("/console/accounts/default/policy",
                       data={"policy": "block", "reason": "harvesting answers", "csrf": token})
    assert done.status_code == 303
    refused = chat(gateway)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "blocked_by_policy"
    admin_key_id = gateway.admin_key.split("-")[1]
    event = gateway.store.list_policy_events(account="default")[0]
    assert (event["old_level"], event["new_level"], event["source"]) == ("auto", "block", "operator")
    assert event["actor"] == admin_key_id and event["note"] == "harvesting answers"
    page = client.get("/console/events?account=default").text
    assert "harvesting answers" in page and admin_key_id in page


def test_the_admin_api_records_its_key_and_reason_too(gateway):
    answer = httpx.patch(gateway.url + "/admin/accounts/default", json={"policy": "flag", "reason": "looks odd"},
                         headers=gateway.headers(gateway.admin_key))
    assert answer.status_code == 200
    event = gateway.store.list_policy_events(account="default")[0]
    assert event["actor"] == gateway.admin_key.split("-")[1] and event["note"] == "looks odd"


def test_pages_show_traffic_limits_keys_and_export(gateway):
    for _ in range(3):
        assert chat(gateway).status_code == 200
    assert gateway.gateway.log_writer.wait_written()
    client = sign_in(gateway)
    overview = client.get("/console/?window=1h")
    assert overview.status_code == 200 and "<svg" in overview.text and "3 requests" in overview.text
    assert "server-timing" in overview.headers and "content-security-policy" in overview.headers
    accounts = client.get("/console/accounts?sort=volume").text
    assert accounts.index(">default<") < accounts.index(">admin<")
    page = client.get("/console/accounts/default").text
    assert "Translate" in page and "Keys" in page
    exported = client.get("/console/accounts/default/export")
    lines = [orjson.loads(line) for line in exported.text.splitlines()]
    assert len(lines) == 3 and {line["account"] for line in lines} == {"default"}
    token = csrf_of(client, "/console/accounts/default")
    assert client.post("/console/accounts/default/limits",
                       data={"rpm": "7", "reason": "slow down", "csrf": token}).status_code == 303
    assert gateway.store.get_account("default").rpm == 7
    assert client.get("/console/accounts/nobody").status_code == 404


def test_prompts_are_hidden_unless_the_log_keeps_them(start_gateway):
    gateway = start_gateway(log_content="redacted")
    assert chat(gateway).status_code == 200
    assert gateway.gateway.log_writer.wait_written()
    page = sign_in(gateway).get("/console/accounts/default").text
    assert "Translate" not in page and "log_content = redacted" in page


def test_reports_list_audits_and_serve_only_their_files(start_gateway, tmp_path):
    audit = tmp_path / "audits" / "suspect-1"
    audit.mkdir(parents=True)
    verdict = {"conclusion": "The suspect was trained on our answers.", "combined_p_value": 1e-9, "alpha": 0.001,
               "attributed_accounts": [], "key": {"key_id": "k1", "versions": 1,
                                                  "commitment": {"key_id": "k1", "ts": "2026-11-01T00:00:00Z",
                                                                 "commitment": "ab12", "verified": True}}}
    (audit / "verdict.json").write_bytes(orjson.dumps(verdict))
    (audit / "report.html").write_text("<html>the report</html>")
    (tmp_path / "secret.txt").write_text("no")
    gateway = start_gateway(console_reports=str(tmp_path / "audits"))
    client = sign_in(gateway)
    page = client.get("/console/reports").text
    assert "trained on our answers" in page and "ab12" in page and "verified" in page
    served = client.get("/console/reports/file", params={"folder": str(audit), "name": "report.html"})
    assert served.status_code == 200 and "the report" in served.text
    for folder, name in ((str(tmp_path), "secret.txt"), (str(audit / ".."), "../secret.txt"), (str(tmp_path), "report.html")):
        assert client.get("/console/reports/file", params={"folder": folder, "name": name}).status_code == 404


def test_the_standalone_console_reads_a_store(tmp_path):
    store = Store(str(tmp_path / "s.db"))
    store.create_account("admin", is_admin=True, rpm=0, tpm=0, concurrency=0, tpd=0)
    store.create_account("acct", rpm=0, tpm=0, concurrency=0, tpd=0)
    _, key = store.create_key("admin")
    store.create_account("acct2", rpm=0, tpm=0, concurrency=0, tpd=0)
    for name in ("acct", "acct2"):
        store.record_policy_event(name, "none", "harden", source="detector", score=2.5, threshold=1.0,
                                  reasons=[{"signal": "logprob_share", "weight": 1.2, "evidence": "all ask"}],
                                  cluster="c_1")
    with TestClient(standalone_app(store, Settings(store_url=str(tmp_path / "s.db")))) as client:
        assert client.get("/console/", follow_redirects=False).status_code == 303
        assert client.post("/console/login", data={"key": key}, follow_redirects=False).status_code == 303
        page = client.get("/console/accounts/acct").text
        assert "logprob_share" in page and "all ask" in page and "harden" in page and "acct2" in page
        overview = client.get("/console/").text
        assert "No live detector in this process" in overview
        campaign = client.get("/console/campaign", params={"id": "c_1"})
        assert campaign.status_code == 200 and campaign.text.count("<circle") == 2
        token = re.search(r'name="csrf" value="([^"]+)"', campaign.text).group(1)
        done = client.post("/console/campaign/policy", data={"id": "c_1", "policy": "block", "reason": "one campaign",
                                                              "csrf": token}, follow_redirects=False)
        assert done.status_code == 303
        assert client.get("/console/campaign", params={"id": "c_9"}).status_code == 404
    assert {store.get_account(name).policy for name in ("acct", "acct2")} == {"block"}
    events = store.list_policy_events_filtered(source="operator")
    assert {(e["account"], e["note"]) for e in events} == {("acct", "one campaign"), ("acct2", "one campaign")}


def test_the_accounts_page_is_paged_and_filtered(tmp_path):
    store = Store(str(tmp_path / "s.db"))
    store.create_account("admin", is_admin=True, rpm=0, tpm=0, concurrency=0, tpd=0)
    for index in range(130):
        store.create_account(f"user-{index:03d}", rpm=0, tpm=0, concurrency=0, tpd=0)
    _, key = store.create_key("admin")
    with TestClient(standalone_app(store, Settings(store_url=str(tmp_path / "s.db")))) as client:
        client.post("/console/login", data={"key": key})
        first = client.get("/console/accounts", params={"sort": "id"}).text
        assert "page 1 of 2" in first and "user-098" in first and "user-099" not in first
        second = client.get("/console/accounts", params={"sort": "id", "page": "2"}).text
        assert "user-129" in second and "user-000" not in second
        found = client.get("/console/accounts", params={"q": "user-12"}).text
        assert "10 accounts" in found and "user-120" in found


def test_traffic_series_counts_requests_and_refusals_per_bucket(tmp_path):
    store = Store(str(tmp_path / "s.db"))
    base = 1_700_000_000.0
    rows = [{"id": f"ex{i}", "ts": base + i * 10, "account": "a" if i % 2 else "b", "key_id": None,
             "endpoint": "/v1/chat/completions", "status": 429 if i % 5 == 0 else 200, "record": "{}"}
            for i in range(60)]
    store.insert_exchanges(rows)
    series = store.traffic_series(base, base + 600, 6)
    assert [row[1] for row in series] == [10] * 6 and [row[2] for row in series] == [2] * 6
    assert [row[1] for row in store.traffic_series(base, base + 600, 2, account="a")] == [15, 15]
    volumes = store.account_volumes(base)
    assert volumes["a"][0] == 30 and volumes["b"][1] == 6


def test_closed_time_slices_are_read_once_and_open_ones_every_time(tmp_path):
    from distillshield.console.data import SliceCache

    store = Store(str(tmp_path / "s.db"))
    now = 472_222 * 3600.0 + 1800                                   # half-way through an hour slice
    row = lambda i, ts: {"id": f"ex{i}", "ts": ts, "account": "a", "key_id": None,  # noqa: E731
                         "endpoint": "/v1/chat/completions", "status": 200, "record": "{}"}
    store.insert_exchanges([row(i, now - 2 * 3600 + i) for i in range(5)] + [row(9, now - 60)])
    cache = SliceCache(settle=120)
    first = cache.series(store, now, 4 * 3600, 4)
    assert [r[1] for r in first] == [0, 5, 0, 1] and first[-1][0] <= now < first[-1][0] + 3600
    assert first == [(start, *counts) for start, *counts in store.traffic_series(first[0][0], first[-1][0] + 3600, 4)]
    store.insert_exchanges([row(10, now - 2 * 3600 + 30), row(11, now - 30)])   # a late write, and a new one
    second = cache.series(store, now, 4 * 3600, 4)
    assert [r[1] for r in second] == [0, 5, 0, 2]                    # the closed slice is kept, the open one re-read
    assert cache.volumes(store, now, 4 * 3600, 4)["a"][0] == 8
    assert cache.tokens(store, now, 4 * 3600, 4, "a") == [0, 0, 0, 0]          # these records carry no usage


def test_charts_draw_what_they_are_given_and_escape_text():
    from distillshield.console import charts

    series = charts.time_series("traffic", [0.0, 60.0, 120.0], {"requests": [3, 0, 5], "refusals": [1, 0, 0]}, 60)
    assert series.count("<rect") == 3 + 2                          # non-zero bars, plus the two legend keys
    assert 'role="img"' in series and 'aria-label="traffic"' in series
    histogram = charts.histogram("scores", [-5.0, -4.9, 2.0, 2.1], [("flag", -4.0), ("block", 1.0)], bins=10)
    assert "flag threshold -4.00" in histogram and "block threshold 1.00" in histogram
    assert histogram.count("<line") == 1 + 2                       # the axis and one line per threshold
    graph = charts.graph("campaign", [{"id": "a", "level": "block"}, {"id": "b", "level": "none"}],
                         [("a", "b", "client <script>alert(1)</script>")])
    assert graph.count("<circle") == 2 and graph.count("<line") == 1
    assert "<script>" not in graph and "&lt;script&gt;" in graph


def test_guessing_slows_down_but_never_locks_the_operator_out(gateway):
    from distillshield.console.app import SIGN_IN_FAILURES

    with httpx.Client(base_url=gateway.url, follow_redirects=False, timeout=30) as client:
        for _ in range(SIGN_IN_FAILURES):
            assert client.post("/console/login", data={"key": "ds-000000000000-guess"}).status_code == 401
        assert client.post("/console/login", data={"key": "ds-000000000000-guess"}).status_code == 429
        signed_in = client.post("/console/login", data={"key": gateway.admin_key})
        assert signed_in.status_code == 303 and "set-cookie" in signed_in.headers


def test_every_console_request_is_logged_under_its_admin(gateway):
    with httpx.Client(base_url=gateway.url, follow_redirects=False, timeout=30) as client:
        refused = client.post("/console/login", data={"key": "ds-000000000000-guess"})
        client.post("/console/login", data={"key": gateway.admin_key})
        page = client.get("/console/accounts")
        odd = client.get("/console/accounts/%00")
    assert odd.status_code == 404
    ids = [refused.headers["x-request-id"], page.headers["x-request-id"]]
    records = {record["id"]: record for record in gateway.records()}
    assert records[ids[0]]["account"] == "anonymous" and records[ids[1]]["account"] == "admin"
    assert records[ids[1]]["status"] == 200 and len(records) == 4


def test_an_odd_console_path_is_recorded_before_its_answers_last_byte_leaves(gateway):
    import asyncio

    writer = gateway.gateway.log_writer
    before = writer.submitted
    submitted_at_last_byte = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.body" and not message.get("more_body"):
            submitted_at_last_byte.append(writer.submitted - before)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": "/console/accounts/\x00", "raw_path": b"/console/accounts/%00", "query_string": b"",
             "root_path": "", "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 5), "server": None}
    asyncio.run(gateway.gateway.app(scope, receive, send))
    assert submitted_at_last_byte == [1]


def test_the_cli_records_its_reason_on_the_policy_event(tmp_path):
    from click.testing import CliRunner

    from distillshield.cli import main

    db = str(tmp_path / "s.db")
    Store(db).create_account("acme", rpm=0, tpm=0, concurrency=0, tpd=0)
    result = CliRunner().invoke(main, ["--db", db, "accounts", "update", "acme", "--policy", "block",
                                       "--reason", "ticket 42"])
    assert result.exit_code == 0, result.output
    event = Store(db).list_policy_events(account="acme")[0]
    assert (event["new_level"], event["actor"], event["note"]) == ("block", "cli", "ticket 42")
    listed = CliRunner().invoke(main, ["--db", db, "policy", "events", "--account", "acme"])
    assert "by=cli reason='ticket 42'" in listed.output
