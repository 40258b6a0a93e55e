"""What the gateway adds: throughput and added latency against the upstream called directly, and against LiteLLM.

In one run, with one fast mock upstream on loopback (bench/mock_upstream.py):
  (a) the mock directly, (b) DistillShield in front of it (one process, SQLite traffic log on),
  (c) the LiteLLM proxy in front of it (its own virtual environment, bench/.venv-litellm, one worker).
For each, chat completions streamed and not, at concurrency 1 and 32: requests/s and latency p50/p99
(time to the last byte). "Added" latency is the proxy's p50/p99 minus the direct p50/p99 of the same
round; each figure is the median over --rounds rounds. The load generator is a separate process;
all processes share this machine's cores, which the output states.

    python bench/gateway_overhead.py [--rounds 3] [--requests-scale 1.0] [--no-litellm] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable
LITELLM_VENV = HERE / ".venv-litellm"
BODY = {"model": "mock", "messages": [{"role": "user", "content": "Say something short about benchmarks."}],
        "max_tokens": 32}


@dataclass
class Config:
    rounds: int = 3
    requests_scale: float = 1.0
    litellm: bool = True
    json_path: str | None = None
    cells: list = field(default_factory=lambda: [(1, False), (1, True), (32, False), (32, True)])

    def requests_for(self, concurrency: int) -> int:
        return max(50, int((300 if concurrency == 1 else 2000) * self.requests_scale))


# ---- processes ---------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, headers: dict | None = None, timeout: float = 180) -> None:
    import urllib.request
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not become ready")


def start_mock(port: int) -> subprocess.Popen:
    process = subprocess.Popen([PYTHON, str(HERE / "mock_upstream.py"), "--port", str(port)])
    wait_ready(f"http://127.0.0.1:{port}/v1/models", process)
    return process


def distillshield(db: str, *args: str) -> str:
    command = [PYTHON, "-m", "distillshield", "--db", db, *args]
    return subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout


def start_distillshield(upstream_port: int, port: int, folder: str) -> tuple[subprocess.Popen, str]:
    db = os.path.join(folder, "bench.db")
    distillshield(db, "accounts", "create", "bench", "--rpm", "0", "--tpm", "0", "--concurrency", "0", "--tpd", "0")
    key = json.loads(distillshield(db, "keys", "create", "--account", "bench", "--json"))["key"]
    process = subprocess.Popen([PYTHON, "-m", "distillshield", "--db", db, "serve", "--upstream",
                                f"http://127.0.0.1:{upstream_port}/v1", "--port", str(port)],
                               cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "DISTILLSHIELD_UPSTREAM_KEY": "dummy"})
    wait_ready(f"http://127.0.0.1:{port}/health", process)
    return process, key


def ensure_litellm() -> Path | None:
    binary = LITELLM_VENV / "bin" / "litellm"
    if binary.exists():
        return binary
    try:
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
        subprocess.run([str(LITELLM_VENV / "bin" / "pip"), "install", "-q", "litellm[proxy]"], check=True)
    except subprocess.CalledProcessError as exc:
        print(f"LiteLLM column skipped: installing litellm[proxy] failed ({exc})")
        return None
    return binary if binary.exists() else None


def start_litellm(binary: Path, upstream_port: int, port: int, folder: str) -> tuple[subprocess.Popen, str]:
    key = "sk-bench-master-key"
    config = Path(folder) / "litellm.yaml"
    config.write_text(f"""model_list:
  - model_name: mock
    litellm_params:
      model: openai/mock
      api_base: http://127.0.0.1:{upstream_port}/v1
      api_key: dummy
general_settings:
  master_key: {key}
litellm_settings:
  telemetry: false
""")
    env = {**os.environ, "LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False"}
    process = subprocess.Popen([str(binary), "--config", str(config), "--port", str(port), "--host", "127.0.0.1",
                                "--num_workers", "1"], cwd=folder, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(f"http://127.0.0.1:{port}/v1/models", process, {"Authorization": f"Bearer {key}"})
    return process, key


# ---- load generator (runs in its own process) ----------------------------------------------------------
async def generate_load(url: str | list[str], key: str, concurrency: int, requests: int, stream: bool) -> dict:
    """Send ``requests`` chat completions from ``concurrency`` clients (to several URLs in turn, when given a
    list: replicas without a load balancer); throughput and latency to the last byte."""
    import aiohttp
    urls = [url] if isinstance(url, str) else url
    body = json.dumps({**BODY, "stream": stream}).encode()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    latencies: list[float] = []
    failures = 0
    sent = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def one():
            nonlocal failures, sent
            target = urls[sent % len(urls)]
            sent += 1
            started = time.perf_counter()
            async with session.post(target, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    failures += 1
            latencies.append(time.perf_counter() - started)

        for _ in range(min(20, requests)):  # warm-up: connections, caches
            await one()
        latencies.clear()
        queue = iter(range(requests))

        async def worker():
            for _ in queue:
                await one()
        started = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(concurrency)])
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {"throughput": requests / elapsed, "p50_ms": 1000 * latencies[len(latencies) // 2],
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], "failures": failures}


def run_load(url: str, key: str, concurrency: int, requests: int, stream: bool) -> dict:
    output = subprocess.run([PYTHON, __file__, "--load", url, key, str(concurrency), str(requests), str(int(stream))],
                            check=True, capture_output=True, text=True).stdout
    return json.loads(output)


# ---- the benchmark -------------------------------------------------------------------------------------
def measure(config: Config) -> dict:
    folder = tempfile.mkdtemp(prefix="ds-bench-")
    processes = []
    try:
        upstream_port = free_port()
        processes.append(start_mock(upstream_port))
        targets = {"direct": (f"http://127.0.0.1:{upstream_port}/v1/chat/completions", "dummy")}
        gateway_port = free_port()
        gateway, gateway_key = start_distillshield(upstream_port, gateway_port, folder)
        processes.append(gateway)
        targets["distillshield"] = (f"http://127.0.0.1:{gateway_port}/v1/chat/completions", gateway_key)
        binary = ensure_litellm() if config.litellm else None
        if binary:
            litellm_port = free_port()
            litellm, litellm_key = start_litellm(binary, upstream_port, litellm_port, folder)
            processes.append(litellm)
            targets["litellm"] = (f"http://127.0.0.1:{litellm_port}/v1/chat/completions", litellm_key)
        results: dict = {name: {} for name in targets}
        for concurrency, stream in config.cells:
            cell = f"c{concurrency}-{'stream' if stream else 'json'}"
            rounds = {name: [] for name in targets}
            for _ in range(config.rounds):
                for name, (url, key) in targets.items():
                    rounds[name].append(run_load(url, key, concurrency, config.requests_for(concurrency), stream))
            for name in targets:
                results[name][cell] = summarise(rounds[name], rounds["direct"])
            print(f"measured {cell}", flush=True)
        return {"targets": list(targets), "cells": results, "cores": os.cpu_count(), "rounds": config.rounds,
                "litellm_version": _litellm_version(binary) if binary else None}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
        shutil.rmtree(folder, ignore_errors=True)


def summarise(rounds: list[dict], direct_rounds: list[dict]) -> dict:
    """Medians over rounds of a target's figures, and of its latency minus the direct one of each round."""
    median = statistics.median
    return {"throughput": median(r["throughput"] for r in rounds), "p50_ms": median(r["p50_ms"] for r in rounds),
            "p99_ms": median(r["p99_ms"] for r in rounds),
            "added_p50_ms": median(r["p50_ms"] - d["p50_ms"] for r, d in zip(rounds, direct_rounds)),
            "added_p99_ms": median(r["p99_ms"] - d["p99_ms"] for r, d in zip(rounds, direct_rounds)),
            "failures": sum(r["failures"] for r in rounds)}


def _litellm_version(binary: Path) -> str:
    pip = binary.parent / "pip"
    shown = subprocess.run([str(pip), "show", "litellm"], capture_output=True, text=True).stdout
    return next((line.split(": ", 1)[1] for line in shown.splitlines() if line.startswith("Version")), "?")


def report(results: dict) -> str:
    lines = [f"cores shared by load generator, proxies and mock: {results['cores']}; "
             f"median of {results['rounds']} rounds; LiteLLM {results['litellm_version'] or 'not measured'}", "",
             f"{'target':<14}{'cell':<12}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'added p50':>11}{'added p99':>11}{'fail':>6}"]
    for name in results["targets"]:
        for cell, row in results["cells"][name].items():
            lines.append(f"{name:<14}{cell:<12}{row['throughput']:>9.0f}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}"
                         f"{row['added_p50_ms']:>11.2f}{row['added_p99_ms']:>11.2f}{row['failures']:>6}")
    cells = results["cells"]
    lines.append("")
    for cell in ("c1-json", "c1-stream"):
        lines.append(f"DistillShield added p50 at {cell}: {cells['distillshield'][cell]['added_p50_ms']:.2f} ms")
    if "litellm" in cells:
        for cell in ("c32-json", "c32-stream"):
            ratio = cells["distillshield"][cell]["throughput"] / cells["litellm"][cell]["throughput"]
            lines.append(f"throughput DistillShield / LiteLLM at {cell}: {ratio:.2f}x")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        url, key, concurrency, requests, stream = sys.argv[2:7]
        print(json.dumps(asyncio.run(generate_load(url, key, int(concurrency), int(requests), stream == "1"))))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests-scale", type=float, default=1.0)
    parser.add_argument("--no-litellm", action="store_true")
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args()
    config = Config(rounds=args.rounds, requests_scale=args.requests_scale, litellm=not args.no_litellm,
                    json_path=args.json_path)
    results = measure(config)
    print(report(results))
    if config.json_path:
        Path(config.json_path).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
