"""The store behaves the same on SQLite and on PostgreSQL."""

from __future__ import annotations

import secrets
import subprocess

import orjson
import pytest
import sqlalchemy as sa

from distillshield.errors import InvalidRequest, NotFound
from distillshield.records import Exchange
from distillshield.store import Store
from distillshield.store.logwriter import exchange_row

POSTGRES_ADMIN_URL = "postgresql://127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        store = Store(str(tmp_path / "store.db"))
        yield store
        store.close()
        return
    database = f"ds_test_{secrets.token_hex(4)}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {database}"))
    store = Store(f"postgresql://127.0.0.1:5432/{database}")
    yield store
    store.close()
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE {database}"))
    admin.dispose()


def test_accounts_and_keys(store):
    store.create_account("acme", rpm=1, tpm=2, concurrency=3, tpd=4)
    with pytest.raises(InvalidRequest, match="already exists"):
        store.create_account("acme", rpm=1, tpm=2, concurrency=3, tpd=4)
    with pytest.raises(InvalidRequest, match="account id must be"):
        store.create_account("bad id!", rpm=1, tpm=2, concurrency=3, tpd=4)
    with pytest.raises(InvalidRequest, match="rpm must be an integer from 0"):
        store.create_account("neg", rpm=-1, tpm=2, concurrency=3, tpd=4)
    assert store.update_account("acme", rpm=10).rpm == 10
    key, plaintext = store.create_key("acme", label="ci")
    assert plaintext.startswith(f"ds-{key.key_id}-")
    assert store.get_key(key.key_id).secret_hash == key.secret_hash
    assert plaintext.split("-", 2)[2] not in key.secret_hash
    assert store.revoke_key(key.key_id).revoked_at is not None
    with pytest.raises(NotFound):
        store.revoke_key("nope")
    with pytest.raises(NotFound):
        store.create_key("nobody")


def test_exchanges_come_back_in_order_and_filtered(store):
    rows = [exchange_row(Exchange(id=f"ex_{i:03d}", ts=f"2026-11-22T10:00:{i:02d}.000Z", account=f"a{i % 2}",
                                  endpoint="/v1/chat/completions", request={"i": i}))
            for i in range(30)]
    store.insert_exchanges(rows[:10])
    store.insert_exchanges(rows[10:])
    assert store.count_exchanges() == 30
    everything = [orjson.loads(text)["request"]["i"] for text in store.iter_exchange_json(batch=7)]
    assert everything == list(range(30))
    odd_recent = [orjson.loads(text)["request"]["i"]
                  for text in store.iter_exchange_json(account="a1", since=rows[20]["ts"], batch=4)]
    assert odd_recent == [21, 23, 25, 27, 29]
    assert store.delete_exchanges_before(rows[10]["ts"]) == 10
    assert store.count_exchanges() == 20


def test_postgres_is_reachable():
    """CI must start PostgreSQL; this fails loudly rather than skipping the PostgreSQL half."""
    result = subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_policy_overrides_and_events(store):
    store.create_account("acme", rpm=1, tpm=2, concurrency=3, tpd=4)
    assert store.get_account("acme").policy == "auto"
    with pytest.raises(InvalidRequest, match="policy must be one of auto, allow, flag, throttle, harden, block"):
        store.update_account("acme", policy="nuke")
    assert store.update_account("acme", policy="harden").policy == "harden"
    store.update_account("acme", policy="harden")                       # no change: no event
    event_id = store.record_policy_event("acme", "none", "flag", source="detector", score=1.5, threshold=float("inf"),
                                         reasons=[{"signal": "logprob_share", "weight": 2.0}], cluster="c_1")
    store.set_policy_event_alert(event_id, "sent")
    store.create_account("other", rpm=1, tpm=2, concurrency=3, tpd=4)
    store.record_policy_event("other", "none", "block", source="detector")
    events = store.list_policy_events(account="acme")
    assert [(e["old_level"], e["new_level"], e["source"]) for e in events] == [
        ("none", "flag", "detector"), ("auto", "harden", "operator")]
    assert events[0]["reasons"] == [{"signal": "logprob_share", "weight": 2.0}]
    assert (events[0]["score"], events[0]["threshold"], events[0]["alert"], events[0]["cluster"]) == (
        1.5, None, "sent", "c_1")
    assert len(store.list_policy_events()) == 3 and len(store.list_policy_events(limit=1)) == 1
    assert store.list_policy_events(since=events[0]["ts"] + 1) == []
    orjson.dumps(events)                                                # plain JSON types throughout


def test_a_store_from_before_policies_gains_the_column(store):
    store.create_account("old", rpm=1, tpm=2, concurrency=3, tpd=4)
    with store.engine.begin() as conn:                       # as a store made before policies existed
        conn.execute(sa.text("ALTER TABLE accounts DROP COLUMN policy"))
    store.close()
    reopened = Store(store.url)
    assert reopened.get_account("old").policy == "auto"
    assert reopened.update_account("old", policy="block").policy == "block"
    reopened.close()


def test_the_consoles_reads_sessions_and_actions_on_both_backends(store):
    import orjson
    base = 1_700_000_000.0
    rows = [{"id": f"ex{i}", "ts": base + i * 10, "account": "a" if i % 2 else "b", "key_id": None,
             "endpoint": "/v1/chat/completions", "status": 429 if i % 5 == 0 else 200,
             "record": orjson.dumps({"response": {"usage": {"total_tokens": 7}}}).decode()} for i in range(60)]
    store.insert_exchanges(rows)
    assert [r[1:] for r in store.traffic_series(base, base + 600, 3)] == [(20, 4), (20, 4), (20, 4)]
    assert [r[1] for r in store.traffic_series(base, base + 600, 2, accounts=["a"])] == [15, 15]
    assert store.account_volumes(base)["b"][:2] == (30, 6)
    slices = store.account_volume_slices(base, base + 600, 2)
    assert slices[0]["a"][0] == 15 and slices[1]["b"][1] == 3
    assert store.account_tokens("a", base, base + 600, 2) == [105, 105]
    assert len(store.recent_exchange_json(account="a", limit=4)) == 4
    assert store.exchange_bounds() == (base, base + 590)

    store.create_account("acme", rpm=1, tpm=2, concurrency=3, tpd=4)
    store.record_policy_event("acme", "none", "flag", source="detector", score=1.0, reasons=[{"signal": "x"}],
                              cluster="c_1")
    store.record_policy_event("acme", "flag", "harden", source="detector", score=2.0, cluster="c_1")
    store.update_account("acme", policy="block", actor="k1", reason="caught")
    assert store.latest_detector_events()["acme"]["new_level"] == "harden"
    operator = store.list_policy_events_filtered(source="operator")
    assert [(e["actor"], e["note"], e["new_level"]) for e in operator] == [("k1", "caught", "block")]
    assert len(store.list_policy_events_filtered(level="flag")) == 1
    assert store.list_policy_events_filtered(alert="none", account="acme")[0]["account"] == "acme"

    token, csrf = store.create_console_session("k1", "admin", 60)
    session = store.get_console_session(token)
    assert session["csrf"] == csrf and session["key_id"] == "k1" and token not in str(session)
    store.delete_console_session(token)
    assert store.get_console_session(token) is None
    expired, _ = store.create_console_session("k1", "admin", -1)
    assert store.get_console_session(expired) is None
    store.record_operator_action("k1", "set_policy", target="acme", reason="caught", details={"policy": "block"})
    assert store.list_operator_actions(target="acme")[0]["details"] == {"policy": "block"}
