"""`scan` at scale: time and peak memory against the log's size and its accounts; one process against the
scan partitioned by account on a local cluster of 2 workers (Dask, and Ray for the engine's choice).

Logs are generated here, fast (not the lab simulator): --sizes lists EXCHANGES:ACCOUNTS pairs, each written
as Parquet in row groups, in time order as `distillshield export` writes them. Accounts: nine in ten chat
users of varied prompts (a vocabulary of 2,000 words, so prompts rarely repeat), one in twenty templated
applications, one in twenty in campaigns of five accounts sharing an address, a client and a template (so
that linking has clusters to score). Requests per account are heavy-tailed (Pareto weights), a campaign
account's three times heavier (campaigns send about a seventh of the traffic).

Each scan runs in a fresh process: peak RSS is that process's (`ru_maxrss`), and for a cluster the peak of
the sum over the whole process tree (the driver, the workers and the engine's own daemons), sampled every
0.2 s. Time excludes starting the cluster (reported apart). The verdicts of every distributed run are
compared with the one-process scan's of the same log. Shipped model, no embeddings (as it ships).

    python bench/scan_scale.py --sizes 100000:1000,300000:1000,1000000:1000,300000:10000 \
        --distributed 300000:1000 --engines dask,ray --json bench/results/scan_scale.json
    python bench/scan_scale.py --state-memory --json bench/results/scan_state_memory.json
    git archive 9c499ed src | tar -x -C /tmp/before    # the scan before streaming, against the scan now:
    python bench/scan_scale.py --log LOG.jsonl --sources /tmp/before/src,src --json bench/results/scan_before_after.json
    python bench/scan_scale.py --log /tmp/log-10000000-10000.parquet --watch 100000 --json bench/results/scan_10m.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import resource
import string
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from distillshield.records import format_ts  # noqa: E402
from distillshield.records.parquet import write_parquet  # noqa: E402

START = 1_793_577_600.0   # 2026-11-02T00:00:00Z
# letters only: the template skeleton masks digits, so words with digits would all look alike
WORDS = sorted({"".join(random.Random(index).choices(string.ascii_lowercase, k=3 + index % 7)) for index in range(2000)})
OPENINGS = ["how do I", "what is", "explain", "write a", "why does", "compare", "summarise", "translate"]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64) Chrome/131", "OpenAI/Python 1.99", "curl/8.5", "Mozilla/5.0 Safari/17"]


# generating ----------------------------------------------------------------------------------------------
def _accounts(count: int, rng: random.Random) -> list[dict]:
    accounts = []
    for index in range(count):
        share = index / count
        kind = "campaign" if share < 0.05 else "app" if share < 0.10 else "user"
        group = index // 5
        accounts.append({
            "name": f"acct_{index:07d}", "kind": kind,
            "ip": f"10.{group // 65536 % 256}.{group // 256 % 256}.{group % 256}" if kind == "campaign"
            else f"172.{index // 65536 % 256}.{index // 256 % 256}.{index % 256}",
            "agent": "python-httpx/0.27" if kind == "campaign" else rng.choice(AGENTS),
            "template": f"Solve problem {group}: reason step by step and show your working." if kind == "campaign"
            else f"{WORDS[index % len(WORDS)]} {WORDS[index * 7 % len(WORDS)]} triage: classify this ticket",
        })
    return accounts


def _prompt(account: dict, rng: random.Random) -> str:
    words = " ".join(rng.choices(WORDS, k=rng.randint(6, 24)))
    if account["kind"] == "user":
        return f"{rng.choice(OPENINGS)} {words}?"
    return f"{account['template']} {words} #{rng.randrange(10 ** 6)}"


def _record(number: int, epoch: float, account: dict, rng: random.Random) -> dict:
    prompt = _prompt(account, rng)
    campaign = account["kind"] == "campaign"
    request = {"model": "m", "messages": [{"role": "user", "content": prompt}],
               "max_tokens": 2048 if campaign else rng.choice([256, 512, None]), "temperature": 0.7}
    if campaign:
        request["n"] = 4
    answer = rng.randint(600, 1500) if campaign else rng.randint(20, 400)
    return {"id": f"ex_{number:026d}", "ts": format_ts(epoch), "account": account["name"], "key_id": "k",
            "ip": account["ip"], "user_agent": account["agent"], "endpoint": "/v1/chat/completions",
            "request": request, "status": 200, "latency_ms": 100.0,
            "response": {"usage": {"prompt_tokens": len(prompt) // 4, "completion_tokens": answer,
                                   "total_tokens": len(prompt) // 4 + answer}}}


def generate(path: Path, exchanges: int, accounts: int, *, days: float = 7.0, seed: int = 1) -> None:
    rng = random.Random(seed)
    people = _accounts(accounts, rng)
    weights = [rng.paretovariate(1.2) * (3 if person["kind"] == "campaign" else 1) for person in people]
    cumulative = list(itertools.accumulate(weights))   # the draws `choices(people, weights)` makes, once summed
    span = days * 86400

    def records():
        for number in range(exchanges):
            person = rng.choices(people, cum_weights=cumulative)[0] if number >= accounts else people[number]
            yield _record(number, START + span * number / exchanges, person, rng)

    write_parquet(path, records(), rows_per_group=100_000)


# measuring -----------------------------------------------------------------------------------------------
class TreePeak:
    """The peak of the summed RSS of this process and all its descendants, sampled every 0.2 s."""

    def __init__(self):
        import psutil

        self.peak = 0
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        import psutil

        while not self._stop.wait(0.2):
            total = 0
            for process in [self._process, *self._process.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


class RayCluster:
    """The same tasks on a local Ray instance (for the engine's choice; the product uses Dask)."""

    def __init__(self, workers: int):
        import ray

        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(ROOT / "src")}})
        self.workers = workers

    def map(self, function, calls: list[tuple]) -> list:
        import ray

        remote = ray.remote(num_cpus=1)(function)
        return ray.get([remote.remote(*args) for args in calls])

    def close(self) -> None:
        import ray

        ray.shutdown()


def scan_once(log: str, out: str, engine: str, workers: int) -> dict:
    """One scan in this process (run in a fresh process by ``measure``)."""
    from distillshield.detect.scan import scan

    tree = TreePeak() if engine != "single" else None
    started = time.perf_counter()
    cluster = None
    if engine == "dask":
        from distillshield.detect.distributed import Cluster
        cluster = Cluster(workers)
    elif engine == "ray":
        cluster = RayCluster(workers)
    cluster_seconds = time.perf_counter() - started
    started = time.perf_counter()
    report = scan(log, out, fpr=1e-3, use_embeddings=False, cluster=cluster, spill_dir=str(Path(out).parent))
    seconds = time.perf_counter() - started
    if cluster is not None:
        cluster.close()
    return {"engine": engine, "workers": workers if cluster else 1, "exchanges": report.exchanges,
            "accounts": len(report.verdicts), "seconds": round(seconds, 1), "cluster_start_seconds":
            round(cluster_seconds, 1) if cluster else None, "exchanges_per_s": round(report.exchanges / seconds),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "peak_tree_rss_mb": round(tree.stop() / 2 ** 20) if tree else None, "flagged": report.flagged,
            "phase_seconds": report.phase_seconds or None}


def measure(log: Path, engine: str, workers: int, folder: Path) -> dict:
    out = folder / f"{log.stem}.{engine}.verdicts.jsonl"
    command = [sys.executable, __file__, "--scan-once", str(log), str(out), engine, str(workers)]
    result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
    single = folder / f"{log.stem}.single.verdicts.jsonl"
    if engine != "single":
        result["same_verdicts_as_single"] = _same(out, single)
    print(json.dumps(result), flush=True)
    return result


def _same(first: Path, second: Path) -> bool:
    def load(path):
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        for row in rows:
            row["calibration"].pop("source", None)
        return rows
    return load(first) == load(second)


def state_memory(prompts: int = 32000, marks=(500, 2000, 4000, 8000, 16000, 32000)) -> dict:
    """Bytes one account's state holds (tracemalloc) after each of ``marks`` requests of a generated user."""
    import tracemalloc

    from distillshield.detect.features import extract
    from distillshield.detect.state import AccountState
    from distillshield.records import Exchange

    rng = random.Random(2)
    person = _accounts(100, rng)[50]
    items = [extract(Exchange.from_dict(_record(n, START + n, person, rng))) for n in range(prompts)]
    tracemalloc.start()
    state = AccountState(person["name"])
    held = {}
    for count, item in enumerate(items, start=1):
        state.update(item)
        if count in marks:
            held[count] = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    steps = list(held)
    return {"kib_after_requests": {count: round(size / 1024) for count, size in held.items()},
            "bytes_per_request_between": {f"{first}-{second}": round((held[second] - held[first]) / (second - first))
                                          for first, second in zip(steps, steps[1:])}}


_PLAIN_SCAN = ("import resource, sys, time; from distillshield.detect.scan import scan; started = time.perf_counter(); "
               "report = scan(sys.argv[1], sys.argv[2], fpr=1e-3, use_embeddings=False); "
               "usage = resource.getrusage(resource.RUSAGE_SELF); "
               "print(report.exchanges, round(time.perf_counter() - started, 1), usage.ru_maxrss // 1024, "
               "round(usage.ru_utime + usage.ru_stime, 1))")


def against_source(log: Path, sources: list[str], folder: Path) -> list[dict]:
    """The one-process scan of ``log`` by each source tree (e.g. the code before streaming, from git archive)."""
    results = []
    for number, source in enumerate(sources):
        out = folder / f"{log.stem}.source{number}.verdicts.jsonl"
        printed = subprocess.run([sys.executable, "-c", _PLAIN_SCAN, str(log), str(out)], check=True,
                                 capture_output=True, text=True, env={**os.environ, "PYTHONPATH": source}).stdout
        exchanges, seconds, peak, cpu = printed.split()
        # CPU seconds (user + system, the whole process) say more than wall time on a shared machine
        results.append({"source": source, "log": str(log), "exchanges": int(exchanges), "seconds": float(seconds),
                        "cpu_seconds": float(cpu), "peak_rss_mb": int(peak), "same_verdicts_as_first": out.read_bytes() ==
                        (folder / f"{log.stem}.source0.verdicts.jsonl").read_bytes()})
        print(json.dumps(results[-1]), flush=True)
    return results


def scan_watched(log: Path, folder: Path, every: int) -> dict:
    """One one-process scan of ``log`` in this process, printing progress every ``every`` exchanges: done,
    seconds, the rate so far, RSS now and at peak (for a run too long to wait for, and memory against
    exchanges within one run)."""
    from distillshield.detect.scan import scan

    started = time.perf_counter()
    mark = [every]

    def progress(done: int, total: int | None) -> None:
        if done >= mark[0] or total is not None:
            mark[0] += every
            seconds = time.perf_counter() - started
            print(json.dumps({"exchanges_done": done, "seconds": round(seconds, 1),
                              "exchanges_per_s": round(done / seconds), "rss_mb": _rss_mb(),
                              "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                              "finished_reading": total is not None}), flush=True)

    out = folder / f"{log.stem}.watched.verdicts.jsonl"
    report = scan(log, out, fpr=1e-3, use_embeddings=False, spill_dir=str(folder), on_progress=progress)
    seconds = time.perf_counter() - started
    return {"log": str(log), "exchanges": report.exchanges, "accounts": len(report.verdicts),
            "seconds": round(seconds, 1), "exchanges_per_s": round(report.exchanges / seconds),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), "flagged": report.flagged}


def _rss_mb() -> int:
    with open("/proc/self/statm") as stream:
        return round(int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000:1000,300000:1000,300000:10000")
    parser.add_argument("--distributed", default="300000:1000", help="Sizes also scanned on the clusters.")
    parser.add_argument("--engines", default="dask,ray")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--folder", default="/tmp/distillshield-scan-scale")
    parser.add_argument("--json")
    parser.add_argument("--scan-once", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--state-memory", action="store_true",
                        help="Only measure one account's state memory against its requests (no scans).")
    parser.add_argument("--sources", help="With --log: scan LOG once with each of these comma-separated src "
                                          "folders (the code before and after a change) and compare.")
    parser.add_argument("--log", help="The log for --sources or --watch.")
    parser.add_argument("--watch", type=int, metavar="EVERY",
                        help="With --log: scan it in this process, printing progress every EVERY exchanges.")
    args = parser.parse_args()
    if args.watch:
        Path(args.folder).mkdir(parents=True, exist_ok=True)
        result = scan_watched(Path(args.log), Path(args.folder), args.watch)
        print(json.dumps(result), flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
        return
    if args.sources:
        result = against_source(Path(args.log), args.sources.split(","), Path(args.folder))
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
        return
    if args.state_memory:
        result = state_memory()
        print(json.dumps(result))
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
        return
    if args.scan_once:
        log, out, engine, workers = args.scan_once
        print(json.dumps(scan_once(log, out, engine, int(workers))))
        return
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    distributed = set(filter(None, args.distributed.split(",")))
    results = []
    for size in args.sizes.split(","):
        exchanges, accounts = (int(part) for part in size.split(":"))
        log = folder / f"log-{exchanges}-{accounts}.parquet"
        if not log.exists():
            started = time.perf_counter()
            generate(log, exchanges, accounts)
            print(f"generated {log} in {time.perf_counter() - started:.0f} s "
                  f"({log.stat().st_size / 2 ** 20:.0f} MiB)", flush=True)
        results.append({"size": size, **measure(log, "single", 1, folder)})
        if size in distributed:
            for engine in filter(None, args.engines.split(",")):
                results.append({"size": size, **measure(log, engine, args.workers, folder)})
    if args.json:
        Path(args.json).write_text(json.dumps({"cores": os.cpu_count(), "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
