"""Replicas and the spool: throughput and added latency against the upstream called directly, in one run.

Targets, each in front of the same fast mock upstream (bench/mock_upstream.py):
  direct            the mock itself (the baseline of every "added" figure)
  spool-off         one gateway, SQLite store, no spool
  spool-write       the same with the spool writing each record before the answer's end (the default)
  spool-fsync       the same with one fsync per record
  3-replicas        three gateways on one PostgreSQL store and one Redis (spool on), requests spread over
                    them round-robin by the load generator (a load balancer adds its own hop on top)
And the shared detector (`distillshield detector`, shipped model, embeddings as configured by default):
exchanges of the lab's simulated traffic are inserted into a PostgreSQL store at --detector-rate a second
for --detector-seconds, stamped with the time of insertion, and the detector's lag (now minus the time of
the newest exchange it has committed) is sampled every second.
Cells: non-streamed chat completions at concurrency 1 and 32. Each figure is the median over --rounds
rounds; "added" is a target's latency minus the direct latency of the same round. Live detection is off in
every gateway here, so that the figures isolate the spool and the replicas (gateway_overhead.py measures
the gateway with detection on).

    python bench/scale.py [--rounds 3] [--requests-scale 1.0] [--json bench/results/scale.json]

`scan` on logs past one machine (time and peak memory by log size and accounts, one process against the
scan on a 2-worker Dask or Ray cluster) is measured by its sibling, bench/scan_scale.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from gateway_overhead import PYTHON, free_port, generate_load, start_mock, summarise, wait_ready

POSTGRES = "postgresql://127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/0"


def run_load(urls: list[str], key: str, concurrency: int, requests: int) -> dict:
    output = subprocess.run([PYTHON, __file__, "--load", json.dumps(urls), key, str(concurrency), str(requests)],
                            check=True, capture_output=True, text=True).stdout
    return json.loads(output)


def cli(db: str, *args: str, cwd: str) -> str:
    return subprocess.run([PYTHON, "-m", "distillshield", "--db", db, *args], check=True, capture_output=True,
                          text=True, cwd=cwd).stdout


def start_gateway(db: str, upstream_port: int, folder: str, *settings: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    pairs = [item for pair in zip(["-s"] * (len(settings) // 2), settings[::2], settings[1::2]) for item in pair]
    process = subprocess.Popen([PYTHON, "-m", "distillshield", "--db", db, "-s", "detect", "false", *pairs,
                                "serve", "--upstream", f"http://127.0.0.1:{upstream_port}/v1", "--port", str(port)],
                               cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "DISTILLSHIELD_UPSTREAM_KEY": "dummy"})
    wait_ready(f"http://127.0.0.1:{port}/health", process)
    return process, f"http://127.0.0.1:{port}/v1/chat/completions"


def account(db: str, folder: str) -> str:
    cli(db, "accounts", "create", "bench", "--rpm", "0", "--tpm", "0", "--concurrency", "0", "--tpd", "0", cwd=folder)
    return json.loads(cli(db, "keys", "create", "--account", "bench", "--json", cwd=folder))["key"]


def measure(rounds: int, scale: float) -> dict:
    folder = tempfile.mkdtemp(prefix="ds-scale-")
    processes: list[subprocess.Popen] = []
    database = f"ds_scale_{secrets.token_hex(4)}"
    admin = sa.create_engine(f"postgresql+psycopg://127.0.0.1:5432/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {database}"))
    try:
        upstream_port = free_port()
        processes.append(start_mock(upstream_port))
        targets: dict[str, tuple[list[str], str]] = {
            "direct": ([f"http://127.0.0.1:{upstream_port}/v1/chat/completions"], "dummy")}
        for spool in ("off", "write", "fsync"):
            db = os.path.join(folder, f"{spool}.db")
            key = account(db, folder)
            process, url = start_gateway(db, upstream_port, folder, "spool", spool)
            processes.append(process)
            targets[f"spool-{spool}"] = ([url], key)
        shared = f"{POSTGRES}/{database}"
        key = account(shared, folder)
        urls = []
        prefix = f"ds-scale-{secrets.token_hex(4)}"
        for _ in range(3):
            process, url = start_gateway(shared, upstream_port, folder, "redis_url", REDIS_URL, "redis_prefix", prefix)
            processes.append(process)
            urls.append(url)
        targets["3-replicas"] = (urls, key)
        results: dict = {name: {} for name in targets}
        for concurrency in (1, 32):
            requests = max(50, int((300 if concurrency == 1 else 2000) * scale))
            measured = {name: [] for name in targets}
            for _ in range(rounds):
                for name, (target_urls, target_key) in targets.items():
                    measured[name].append(run_load(target_urls, target_key, concurrency, requests))
            for name in targets:
                results[name][f"c{concurrency}"] = summarise(measured[name], measured["direct"])
            print(f"measured concurrency {concurrency}", flush=True)
        return {"cells": results, "rounds": rounds, "cores": os.cpu_count()}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(60)
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE {database} WITH (FORCE)"))
        shutil.rmtree(folder, ignore_errors=True)


def measure_detector(rate: int, seconds: float) -> dict:
    """The shared detector's lag behind a log written at ``rate`` exchanges a second."""
    import redis

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from distillshield.records import Exchange, format_ts, read_exchanges
    from distillshield.store import Store
    from distillshield.store.logwriter import exchange_row

    folder = tempfile.mkdtemp(prefix="ds-detector-")
    database = f"ds_detector_{secrets.token_hex(4)}"
    prefix = f"ds-bench-{secrets.token_hex(4)}"
    admin = sa.create_engine("postgresql+psycopg://127.0.0.1:5432/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {database}"))
    url = f"{POSTGRES}/{database}"
    detector = None
    try:
        subprocess.run([PYTHON, "-m", "distillshield", "lab", "traffic", "--out", folder, "--seed", "7", "--days", "1",
                        "--scale", "0.3"], check=True, capture_output=True)
        with open(Path(folder) / "exchanges.jsonl", "rb") as handle:
            simulated = [item for item in read_exchanges(handle) if isinstance(item, Exchange)]
        store = Store(url)
        detector = subprocess.Popen([PYTHON, "-m", "distillshield", "--db", url, "-s", "redis_url", REDIS_URL,
                                     "-s", "redis_prefix", prefix, "detector"], cwd=folder,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(REDIS_URL)
        ready_by = time.monotonic() + 300
        while not client.get(f"{prefix}:detector:heartbeat"):     # model and embedder loaded, first step done
            if detector.poll() is not None or time.monotonic() > ready_by:
                raise RuntimeError("the detector did not start")
            time.sleep(0.2)
        lags, written, started = [], 0, time.monotonic()
        next_sample = started + 1
        while time.monotonic() - started < seconds:
            due = int((time.monotonic() - started) * rate) - written
            if due > 0:
                now = time.time()
                batch = [exchange_row(Exchange(**{**_fields(item), "id": f"ex_{written + i:026d}",
                                                 "ts": format_ts(now)}))
                         for i, item in enumerate(simulated[written % len(simulated):][:due])]
                store.insert_exchanges(batch)
                written += len(batch)
            if time.monotonic() >= next_sample:
                lags.append(_lag(client, prefix))
                next_sample += 1
            time.sleep(0.02)
        settle_started = time.monotonic()
        while _lag(client, prefix) > 1 and time.monotonic() - settle_started < 120:
            time.sleep(0.5)
        checkpoint = client.get(f"{prefix}:detector:checkpoint")
        read = json.loads(checkpoint)["seq"] if checkpoint else 0
        return {"rate": rate, "seconds": seconds, "written": written, "read": read,
                "lag_p50_s": statistics.median(lags) if lags else None, "lag_max_s": max(lags) if lags else None,
                "caught_up_after_s": time.monotonic() - settle_started}
    finally:
        if detector is not None:
            detector.terminate()
            detector.wait(60)
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE {database} WITH (FORCE)"))
        shutil.rmtree(folder, ignore_errors=True)


def _fields(exchange) -> dict:
    return {name: getattr(exchange, name) for name in ("id", "ts", "account", "endpoint", "request", "key_id", "ip",
                                                        "user_agent", "response", "status", "latency_ms", "error",
                                                        "extra")}


def _lag(client, prefix: str) -> float:
    checkpoint = client.get(f"{prefix}:detector:checkpoint")
    last_ts = json.loads(checkpoint).get("last_ts", 0.0) if checkpoint else 0.0
    return time.time() - last_ts if last_ts else float("inf")


def report(results: dict) -> str:
    cells = results["cells"]
    lines = [f"{results['cores']} cores shared by the load generator, the mock and every gateway; "
             f"median of {results['rounds']} rounds", "",
             f"{'target':<14}{'cell':<6}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'added p50':>11}{'added p99':>11}"
             f"{'fail':>6}"]
    for name, by_cell in cells.items():
        for cell, row in by_cell.items():
            lines.append(f"{name:<14}{cell:<6}{row['throughput']:>9.0f}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}"
                         f"{row['added_p50_ms']:>11.2f}{row['added_p99_ms']:>11.2f}{row['failures']:>6}")
    lines.append("")
    for spool in ("write", "fsync"):
        cost = cells[f"spool-{spool}"]["c1"]["p50_ms"] - cells["spool-off"]["c1"]["p50_ms"]
        lines.append(f"spool ({spool}) cost at concurrency 1, p50: {cost:+.3f} ms")
    ratio = cells["3-replicas"]["c32"]["throughput"] / cells["spool-write"]["c32"]["throughput"]
    lines.append(f"throughput 3 replicas / 1 replica at concurrency 32: {ratio:.2f}x (one machine, 2 cores)")
    detector = results.get("detector")
    if detector:
        lines.append(f"shared detector at {detector['rate']} exchanges/s for {detector['seconds']:.0f} s: lag p50 "
                     f"{detector['lag_p50_s']:.2f} s, max {detector['lag_max_s']:.2f} s; {detector['read']} of "
                     f"{detector['written']} read, caught up {detector['caught_up_after_s']:.1f} s after the load")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        urls, key, concurrency, requests = sys.argv[2:6]
        print(json.dumps(asyncio.run(generate_load(json.loads(urls), key, int(concurrency), int(requests), False))))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests-scale", type=float, default=1.0)
    parser.add_argument("--json", dest="json_path")
    parser.add_argument("--detector-rate", type=int, default=1000)
    parser.add_argument("--detector-seconds", type=float, default=60)
    parser.add_argument("--no-replicas", action="store_true", help="Measure only the shared detector.")
    args = parser.parse_args()
    results = {} if args.no_replicas else measure(args.rounds, args.requests_scale)
    if args.detector_seconds > 0:
        results["detector"] = measure_detector(args.detector_rate, args.detector_seconds)
    if args.no_replicas:
        print(json.dumps(results.get("detector"), indent=1))
        if args.json_path:
            Path(args.json_path).write_text(json.dumps(results, indent=1))
        return
    print(report(results))
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
