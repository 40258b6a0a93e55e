"""How long the console's pages take on the server, on a store of many exchanges (the goal: <= 300 ms each).

Fills a SQLite store (through `Store.insert_exchanges`, batches of 20,000) with --exchanges exchange records
spread over the last 7 days: --accounts ordinary accounts (one request in 50 refused) and a campaign of 24
accounts that send a fifth of all traffic, plus a detector event for each campaign account (level, score,
reasons, cluster). Then serves the standalone console in process (Starlette's TestClient: no network) and times
each page --repeats times: the figure is the median of the server time the console reports itself
(`Server-Timing: app;dur=`), with the client-side time beside it. Signing in starts a warm-up in the background (the closed slices of the 24-hour, 7-day and 30-day windows);
the bench waits --read-seconds before the first page, as an operator reading would (--no-warm-up: not at
all). The first view of a page is reported on its own: closed time slices are then kept in memory (`console.data.SliceCache`), so later views read only the
open slice; the median is over the views after the first. The account page is the campaign's heaviest
account (7-day timeline with tokens read out of each of its records). The pages are timed in this order in
one process, so a page may find slices an earlier page read (the 7-day accounts page after the 7-day
overview does not: they keep different slices).

    python bench/console_pages.py [--exchanges 1000000] [--accounts 2000] [--repeats 7] [--db PATH] [--json out.json]
    python bench/console_pages.py --write-cost 200000 [--json out.json]   # the indexes' cost to the traffic log

A --db that already holds exchanges is reused as it is (no second fill).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

import orjson
from starlette.testclient import TestClient

from distillshield.console import standalone_app
from distillshield.records import Settings, format_ts, new_exchange_id
from distillshield.store import Store

CAMPAIGN = 24
TEMPLATE = "Grade this answer from 1 to 10 and explain step by step: topic {}"


def fill(store: Store, exchanges: int, accounts: int, seed: int = 0) -> float:
    rng = random.Random(seed)
    now = time.time()
    start = now - 7 * 86400
    names = [f"user-{i:05d}" for i in range(accounts)]
    campaign = [f"camp-{i:02d}" for i in range(CAMPAIGN)]
    for name in names + campaign:
        store.create_account(name, rpm=60, tpm=200_000, concurrency=8, tpd=5_000_000)
    began = time.perf_counter()
    batch = []
    for index in range(exchanges):
        ts = start + (now - start) * index / exchanges
        heavy = rng.random() < 0.2
        account = rng.choice(campaign) if heavy else names[min(accounts - 1, int(rng.paretovariate(1.2)) - 1)]
        status = 200 if rng.random() > 0.02 else rng.choice((429, 403, 400))
        text = TEMPLATE.format(rng.randrange(5000)) if heavy else f"question {rng.randrange(10**6)} about things"
        record = {"id": new_exchange_id(ts), "ts": format_ts(ts), "account": account, "endpoint": "/v1/chat/completions",
                  "ip": "198.51.100.7" if heavy else f"203.0.113.{rng.randrange(250)}",
                  "user_agent": "harvester/1.0" if heavy else "office-app/2.3",
                  "request": {"model": "m", "messages": [{"role": "user", "content": text}], "logprobs": heavy},
                  "response": {"usage": {"prompt_tokens": 20, "completion_tokens": 80, "total_tokens": 100}},
                  "status": status}
        batch.append({"id": record["id"], "ts": ts, "account": account, "key_id": None,
                      "endpoint": record["endpoint"], "status": status, "record": orjson.dumps(record).decode()})
        if len(batch) == 20_000:
            store.insert_exchanges(batch)
            batch = []
    store.insert_exchanges(batch)
    for name in campaign:
        store.record_policy_event(name, "none", "harden", source="detector", score=2.0 + rng.random(), threshold=-3.9,
                                  reasons=[{"signal": "logprob_share", "weight": 8.2, "evidence": "all ask"}],
                                  cluster="c_1")
    return time.perf_counter() - began


def write_cost(exchanges: int, rounds: int = 3) -> dict:
    """What the console's covering indexes cost the traffic log: the same exchanges written in the log writer's
    batches (500) into a fresh store as it is now and with the single-column ts and account indexes it had
    before, alternating; medians of ``rounds``."""
    import sqlalchemy as sa

    seconds = {"now": [], "before the console": []}
    for _ in range(rounds):
        for label in seconds:
            with tempfile.TemporaryDirectory() as folder:
                store = Store(str(Path(folder) / "w.db"))
                if label == "before the console":           # the single-column indexes the store had before
                    with store.engine.begin() as conn:
                        conn.execute(sa.text("DROP INDEX ix_exchanges_ts_account_status"))
                        conn.execute(sa.text("DROP INDEX ix_exchanges_account_ts_status"))
                        conn.execute(sa.text("CREATE INDEX ix_exchanges_ts ON exchanges (ts)"))
                        conn.execute(sa.text("CREATE INDEX ix_exchanges_account ON exchanges (account)"))
                rng = random.Random(1)
                rows = [{"id": new_exchange_id(1.7e9 + i), "ts": 1.7e9 + i * 0.5, "account": f"user-{rng.randrange(2000)}",
                         "key_id": None, "endpoint": "/v1/chat/completions", "status": 200,
                         "record": '{"request": {"messages": [{"role": "user", "content": "hello there"}]}}'}
                        for i in range(exchanges)]
                began = time.perf_counter()
                for start in range(0, exchanges, 500):
                    store.insert_exchanges(rows[start:start + 500])
                seconds[label].append(time.perf_counter() - began)
                store.close()
    medians = {label: statistics.median(values) for label, values in seconds.items()}
    return {"exchanges": exchanges, "rounds": rounds,
            **{f"{label} (exchanges/s)": round(exchanges / value) for label, value in medians.items()},
            "ratio of times (now / before)": round(medians["now"] / medians["before the console"], 3)}


def time_page(client: TestClient, path: str, repeats: int) -> dict:
    server, client_side = [], []
    for _ in range(repeats):
        began = time.perf_counter()
        answer = client.get(path)
        client_side.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        server.append(float(re.search(r"dur=([\d.]+)", answer.headers["server-timing"]).group(1)))
    return {"server_ms_first": round(server[0], 1), "server_ms_median": round(statistics.median(server[1:]), 1),
            "server_ms_max_after_first": round(max(server[1:]), 1),
            "client_ms_median": round(statistics.median(client_side[1:]), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exchanges", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--db", help="SQLite file (default: a temporary one)")
    parser.add_argument("--json", dest="json_path")
    parser.add_argument("--no-warm-up", action="store_true", help="Time the pages straight after signing in.")
    parser.add_argument("--read-seconds", type=float, default=5.0,
                        help="Seconds between signing in and the first page (the warm-up's time).")
    parser.add_argument("--write-cost", type=int, metavar="N",
                        help="Only measure what the console's indexes cost writing N exchanges, then stop.")
    args = parser.parse_args()
    if args.write_cost:
        result = write_cost(args.write_cost)
        print(json.dumps(result, indent=2))
        if args.json_path:
            Path(args.json_path).write_text(json.dumps(result, indent=2) + "\n")
        return
    folder = tempfile.TemporaryDirectory()
    path = args.db or str(Path(folder.name) / "console.db")
    store = Store(path)
    fill_seconds = None
    if store.count_exchanges() == 0:
        store.create_account("admin", is_admin=True, rpm=0, tpm=0, concurrency=0, tpd=0)
        fill_seconds = round(fill(store, args.exchanges, args.accounts), 1)
        print(f"filled {args.exchanges:,} exchanges in {fill_seconds} s")
    _, key = store.create_key("admin")
    pages = {"overview (24h)": "/console/", "overview (7d)": "/console/?window=7d",
             "overview (30d)": "/console/?window=30d",
             "accounts (24h volume, by risk)": "/console/accounts",
             "accounts (7d volume, by volume)": "/console/accounts?window=7d&sort=volume",
             "account (heaviest, 7d)": "/console/accounts/camp-00",
             "campaigns": "/console/campaigns", "campaign (24 accounts, 7d)": "/console/campaign?id=c_1",
             "events": "/console/events"}
    results = {"exchanges": store.count_exchanges(), "accounts": len(store.list_accounts()),
               "fill_seconds": fill_seconds, "repeats": args.repeats, "pages": {}}
    with TestClient(standalone_app(store, Settings(store_url=path))) as client:
        assert client.post("/console/login", data={"key": key}, follow_redirects=False).status_code == 303
        if not args.no_warm_up:                  # as an operator would: the warm-up runs while they read
            time.sleep(args.read_seconds)
        for name, page in pages.items():
            results["pages"][name] = time_page(client, page, args.repeats)
            timing = results["pages"][name]
            print(f"{name:34s} server: first view {timing['server_ms_first']:7.1f} ms, then median "
                  f"{timing['server_ms_median']:7.1f} ms, max {timing['server_ms_max_after_first']:7.1f} ms")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
