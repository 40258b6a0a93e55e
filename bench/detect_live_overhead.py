"""What live detection adds to a request's latency: one gateway with the detector on, one with it off, same run.

Two gateways (``python -m distillshield serve``, SQLite traffic log, uvloop) in front of one fast mock upstream
(bench/mock_upstream.py); one runs live detection (a hand-set detector model, prompt embeddings as configured,
levels up to ``flag`` only, so the detector never changes what is served), the other has ``detect = false``.
A load generator in its own process sends non-streamed chat completions with varied prompts from --accounts
accounts (one in ten asks for log-probabilities, so some accounts get flagged and policy events are written),
alternating blocks of --block requests between the two gateways (ON, OFF, ON, OFF, ...) so both see the same
machine. After each ON block it waits until the detector has caught up (``distillshield_detect_queue_depth``
= 0) so the detector's backlog is not worked off during an OFF block. Per concurrency (1 and 8), for
--requests requests to each gateway: latency p50/p99 (time to the last byte) ON and OFF and the difference,
plus the CPU the gateway process (and, when there is one, its detector process) spent per request.

    python bench/detect_live_overhead.py [--requests 2000] [--block 250] [--accounts 200] [--warmup 300]
                                         [--no-embeddings] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

from gateway_overhead import free_port, start_mock, wait_ready  # noqa: E402

TOPICS = ["photosynthesis", "the French revolution", "binary search trees", "tax on capital gains", "sourdough bread",
          "black holes", "the Krebs cycle", "Rust lifetimes", "supply and demand", "the causes of inflation",
          "plate tectonics", "vaccines", "quantum entanglement", "SQL joins", "impressionist painting",
          "marathon training", "the immune system", "TCP congestion control", "Shakespeare's sonnets", "compound interest"]
TEMPLATES = ["Explain {t} to a ten-year-old.", "Write three quiz questions about {t}.",
             "What are the most common misconceptions about {t}?", "Summarise {t} in {n} bullet points.",
             "Compare {t} with {u}.", "Give me a step-by-step derivation related to {t}, case {n}.",
             "Translate this sentence about {t} into German: '{t} matters for case {n}.'"]


# ---- set-up ----------------------------------------------------------------------------------------------
def write_model(path: Path) -> None:
    import numpy as np

    from distillshield.detect import DetectorModel, DistillationScorer

    scorer = DistillationScorer.from_weights({"logprob_share": 10.0}, intercept=-5.0)
    DetectorModel(scorer, np.linspace(-4.8, -4.0, 200), {"bench": True}).save(path)


def make_store(db: str, accounts: int) -> tuple[str, list[str]]:
    from distillshield.store import Store

    store = Store(db)
    store.create_account("bench-admin", is_admin=True, rpm=0, tpm=0, concurrency=0, tpd=0)
    admin = store.create_key("bench-admin")[1]
    keys = []
    for i in range(accounts):
        store.create_account(f"acct_{i:04d}", rpm=0, tpm=0, concurrency=0, tpd=0)
        keys.append(store.create_key(f"acct_{i:04d}")[1])
    store.close()
    return admin, keys


def start_gateway(db: str, upstream_port: int, port: int, folder: str, settings: dict) -> subprocess.Popen:
    pairs = [item for name, value in settings.items() for item in ("-s", name, str(value))]
    log = open(os.path.join(folder, f"gateway-{port}.log"), "w")
    process = subprocess.Popen([PYTHON, "-m", "distillshield", "--db", db, *pairs, "serve", "--upstream",
                                f"http://127.0.0.1:{upstream_port}/v1", "--port", str(port)],
                               cwd=folder, stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "DISTILLSHIELD_UPSTREAM_KEY": "dummy"})
    wait_ready(f"http://127.0.0.1:{port}/health", process)
    return process


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its descendants (Linux /proc; 0 elsewhere)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
        for task in Path(f"/proc/{pid}/task").iterdir():
            children = (task / "children").read_text().split()
            total += sum(cpu_seconds(int(child)) for child in children)
    except OSError:
        pass
    return total


# ---- load generator (its own process) ---------------------------------------------------------------------
def body_for(rng: random.Random, harvester: bool) -> bytes:
    topic, other = rng.sample(TOPICS, 2)
    prompt = rng.choice(TEMPLATES).format(t=topic, u=other, n=rng.randint(2, 99))
    body = {"model": "mock", "messages": [{"role": "user", "content": prompt}], "max_tokens": rng.choice([64, 256, 512]),
            "temperature": rng.choice([0.0, 0.7, 1.0])}
    if harvester:
        body.update(logprobs=True, top_logprobs=5)
    return json.dumps(body).encode()


async def generate_load(plan: dict) -> dict:
    import aiohttp

    rng = random.Random(plan["seed"])
    accounts = len(plan["on"]["keys"])
    harvesters = set(range(0, accounts, 10))
    latencies: dict[str, list[float]] = {"on": [], "off": []}
    cpu: dict[str, float] = {"on": 0.0, "off": 0.0}
    failures = {"on": 0, "off": 0}
    concurrency = plan["concurrency"]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=2 * concurrency)) as session:
        async def one(mode: str, record: bool) -> None:
            index = rng.randrange(accounts)
            headers = {"Authorization": f"Bearer {plan[mode]['keys'][index]}", "Content-Type": "application/json"}
            data = body_for(rng, index in harvesters)
            started = time.perf_counter()
            async with session.post(plan[mode]["url"] + "/v1/chat/completions", data=data, headers=headers) as answer:
                await answer.read()
                if answer.status != 200:
                    failures[mode] += 1
            if record:
                latencies[mode].append(time.perf_counter() - started)

        async def caught_up() -> None:
            headers = {"Authorization": f"Bearer {plan['on']['admin']}"}
            deadline = time.monotonic() + 120
            await asyncio.sleep(0.2)                        # the log writer's flush
            while time.monotonic() < deadline:
                async with session.get(plan["on"]["url"] + "/metrics", headers=headers) as answer:
                    text = await answer.text()
                depth = [line for line in text.splitlines() if line.startswith("distillshield_detect_queue_depth")]
                if not depth or float(depth[0].split()[-1]) == 0:
                    return
                await asyncio.sleep(0.05)

        for mode in ("on", "off"):                          # warm-up: connections, caches, first checkpoints
            for _ in range(plan["warmup"]):
                await one(mode, False)
        await caught_up()
        remaining = {"on": plan["requests"], "off": plan["requests"]}
        while remaining["on"] or remaining["off"]:
            for mode in ("on", "off"):
                block = min(plan["block"], remaining[mode])
                if not block:
                    continue
                remaining[mode] -= block
                before = cpu_seconds(plan[mode]["pid"])
                todo = iter(range(block))

                async def worker():
                    for _ in todo:
                        await one(mode, True)          # noqa: B023 (the block's mode)

                await asyncio.gather(*[worker() for _ in range(concurrency)])
                if mode == "on":
                    await caught_up()
                cpu[mode] += cpu_seconds(plan[mode]["pid"]) - before
    return {"latencies": latencies, "cpu": cpu, "failures": failures}


def run_load(plan: dict, folder: str) -> dict:
    plan_path = Path(folder) / "plan.json"
    plan_path.write_text(json.dumps(plan))
    output = subprocess.run([PYTHON, __file__, "--load", str(plan_path)], check=True, capture_output=True,
                            text=True).stdout
    return json.loads(output)


# ---- the benchmark ----------------------------------------------------------------------------------------
def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def measure(args) -> dict:
    folder = tempfile.mkdtemp(prefix="ds-detect-bench-")
    processes: list[subprocess.Popen] = []
    try:
        model_path = Path(folder) / "model.json"
        write_model(model_path)
        upstream_port = free_port()
        processes.append(start_mock(upstream_port))
        common = {"detect_replay_hours": 0, "policy_throttle_fpr": 0, "policy_harden_fpr": 0, "policy_block_fpr": 0}
        targets = {}
        for mode, detect in (("on", True), ("off", False)):
            db = os.path.join(folder, f"{mode}.db")
            admin, keys = make_store(db, args.accounts)
            port = free_port()
            settings = {**common, "detect": str(detect).lower(), "detect_model": str(model_path),
                        "detect_embeddings": str(args.embeddings).lower()}
            process = start_gateway(db, upstream_port, port, folder, settings)
            processes.append(process)
            targets[mode] = {"url": f"http://127.0.0.1:{port}", "admin": admin, "keys": keys, "pid": process.pid}
        results = {}
        for concurrency in (1, 8):
            plan = {**targets, "concurrency": concurrency, "requests": args.requests,
                    "block": args.block, "warmup": args.warmup, "seed": concurrency}
            outcome = run_load(plan, folder)
            lat = outcome["latencies"]
            row = {}
            for mode in ("on", "off"):
                row[f"{mode}_p50_ms"] = 1000 * quantile(lat[mode], 0.5)
                row[f"{mode}_p99_ms"] = 1000 * quantile(lat[mode], 0.99)
                row[f"{mode}_mean_ms"] = 1000 * statistics.fmean(lat[mode])
                row[f"{mode}_cpu_us_per_request"] = 1e6 * outcome["cpu"][mode] / len(lat[mode])
                row[f"{mode}_failures"] = outcome["failures"][mode]
            for stat in ("p50", "p99", "mean"):
                row[f"added_{stat}_ms"] = row[f"on_{stat}_ms"] - row[f"off_{stat}_ms"]
            row["requests_each"] = len(lat["on"])
            results[f"c{concurrency}"] = row
            print(f"measured concurrency {concurrency}", flush=True)
        for process in processes[1:]:
            process.terminate()
            process.wait(60)
        log_text = (Path(folder) / f"gateway-{targets['on']['url'].rsplit(':', 1)[1]}.log").read_text()
        return {"results": results, "embeddings": args.embeddings, "accounts": args.accounts, "cores": os.cpu_count(),
                "detector_log": [line for line in log_text.splitlines() if "detect" in line.lower()][-8:]}
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            process.wait(30)
        shutil.rmtree(folder, ignore_errors=True)


def report(measured: dict) -> str:
    lines = [f"live detection ON vs OFF, same run; {measured['cores']} cores, embeddings "
             f"{'on' if measured['embeddings'] else 'off'}, {measured['accounts']} accounts",
             f"{'':4} {'ON p50':>8} {'OFF p50':>8} {'added':>7} | {'ON p99':>8} {'OFF p99':>8} {'added':>7} | "
             f"{'CPU/req ON':>10} {'OFF':>7}  (ms; CPU µs, gateway + its children)"]
    for cell, row in measured["results"].items():
        lines.append(f"{cell:4} {row['on_p50_ms']:8.3f} {row['off_p50_ms']:8.3f} {row['added_p50_ms']:+7.3f} | "
                     f"{row['on_p99_ms']:8.3f} {row['off_p99_ms']:8.3f} {row['added_p99_ms']:+7.3f} | "
                     f"{row['on_cpu_us_per_request']:10.0f} {row['off_cpu_us_per_request']:7.0f}"
                     + (f"  failures {row['on_failures']}/{row['off_failures']}"
                        if row["on_failures"] or row["off_failures"] else ""))
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--load":
        print(json.dumps(asyncio.run(generate_load(json.loads(Path(sys.argv[2]).read_text())))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests to each gateway per concurrency")
    parser.add_argument("--block", type=int, default=250)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=300, help="unmeasured requests to each gateway first")
    parser.add_argument("--no-embeddings", dest="embeddings", action="store_false")
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args()
    measured = measure(args)
    print(report(measured))
    for line in measured["detector_log"]:
        print("  log:", line)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(measured, indent=1))


if __name__ == "__main__":
    main()
