"""What graduated responses and live detection cost a request: the hot path's policy layer and the detector's feed.

Measured in process, without HTTP, with a live risk table of --accounts accounts (a tenth of them at a level):
  hot path (event loop, per request)
    decide: auto account not at any level      the common case: one attribute read, one dict look-up
    decide + admit: flagged account            plus the per-level request counter
    throttle: limits_for                       the reduced limits handed to the limiter (cached per account)
    harden: decide + admit + harden_request    plus the checks on n / logprobs and the max_tokens cap
                                               (a copy of the payload re-encoded for the upstream)
  log-writer thread (per exchange)
    feed                                       handing a written batch (the records' JSON bytes) to the
                                               detector's queue (a sender thread then pipes it to the process)
  detector process (per exchange; not on any request's path, nor in the gateway's process)
    decode                                     JSON bytes back into an exchange
    process                                    observing, scoring at checkpoints, finding the risks to publish
bench/detect_live_overhead.py measures what the detector costs requests end to end, through real gateways.

Each figure is the median of --repeats timings of a loop; the goal for the hot path is < 0.1 ms a request.

    python bench/policy_overhead.py [--accounts 10000] [--repeats 7] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from distillshield.detect import DetectorModel, DistillationScorer  # noqa: E402
from distillshield.detect.live import AccountRisk, LiveDetector  # noqa: E402
from distillshield.detect.state import FEATURE_NAMES  # noqa: E402
from distillshield.gateway.metrics import GatewayMetrics  # noqa: E402
from distillshield.gateway.policy import Policy  # noqa: E402
from distillshield.records import Exchange, Settings, format_ts  # noqa: E402
from distillshield.store import Account, Store  # noqa: E402

PAYLOAD = {"model": "m", "messages": [{"role": "user", "content": "Explain photosynthesis step by step. " * 8}],
           "temperature": 0.7, "max_tokens": 1024}


class _Call:
    policy = None


def model() -> DetectorModel:
    scorer = DistillationScorer()
    scorer.mean_, scorer.scale_ = np.zeros(len(FEATURE_NAMES)), np.ones(len(FEATURE_NAMES))
    scorer.coef_ = np.zeros(len(FEATURE_NAMES))
    scorer.coef_[FEATURE_NAMES.index("logprob_share")] = 10.0
    scorer.intercept_ = -5.0
    return DetectorModel(scorer, np.linspace(-4.8, -4.0, 200), {})


def per_call_us(function, loops: int, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter_ns()
        for _ in range(loops):
            function()
        timings.append((time.perf_counter_ns() - started) / loops / 1000)
    return statistics.median(timings)


def account(name: str, policy: str = "auto") -> Account:
    return Account(id=name, name=name, is_admin=False, rpm=60, tpm=200_000, concurrency=8, tpd=5_000_000,
                   disabled=False, created_at=0.0, policy=policy)


def exchanges(count: int, accounts: int) -> list[Exchange]:
    base = 1_790_000_000.0
    return [Exchange(id=f"ex_{i}", ts=format_ts(base + i * 0.01), account=f"acct_{i % accounts}",
                     endpoint="/v1/chat/completions", ip="203.0.113.5", user_agent="OpenAI/Python 1.99",
                     request={"model": "m", "messages": [{"role": "user", "content": f"Question {i}: "
                                                          + "why is the sky blue? " * (i % 5 + 1)}],
                              "max_tokens": 512, "logprobs": i % 7 == 0},
                     response={"usage": {"prompt_tokens": 20, "completion_tokens": 200, "total_tokens": 220}},
                     status=200) for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        store = Store(os.path.join(folder, "bench.db"))
        settings = Settings(policy_harden_max_tokens=256)
        policy = Policy(settings, store, GatewayMetrics(lambda: 0))
        detector = LiveDetector(model(), [("flag", -4.0), ("throttle", -3.9), ("harden", -3.9)])
        levels = ["none"] * 9 + ["flag"]
        for i in range(args.accounts):
            detector.risk[f"acct_{i}"] = AccountRisk(f"acct_{i}", -4.5, levels[i % 10], None, None, (), None, 10)
        detector.risk["hardened"] = AccountRisk("hardened", 1.0, "harden", -3.9, None, (), 5, 10)
        policy.attach(detector)

        plain, flagged, hardened = account("acct_1"), account("acct_9"), account("hardened")
        assert policy.decide(plain) is None and policy.decide(flagged).level == "flag"
        call = _Call()

        def decide_plain():
            policy.decide(plain)

        def decide_flagged():
            decision = policy.decide(flagged)
            policy.admit(decision)

        def throttle():
            policy.limits_for(hardened)

        harden_decision = policy.decide(hardened)
        body = json.dumps(PAYLOAD).encode()

        def harden():
            decision = policy.decide(hardened)
            policy.admit(decision)
            policy.harden_request("/v1/chat/completions", PAYLOAD, body, decision, call)

        assert harden_decision.harden
        results = {
            "decide_plain_us": per_call_us(decide_plain, 200_000, args.repeats),
            "decide_flagged_us": per_call_us(decide_flagged, 100_000, args.repeats),
            "throttle_limits_us": per_call_us(throttle, 100_000, args.repeats),
            "harden_request_us": per_call_us(harden, 20_000, args.repeats),
        }

        batch = [exchange.to_json() for exchange in exchanges(500, args.accounts)]
        feeder = LiveDetector(model(), [("flag", -4.0)], queue_size=10**9)
        results["feed_per_exchange_us"] = per_call_us(lambda: feeder.feed(batch), 2_000, args.repeats) / len(batch)

        stream = exchanges(20_000, 2_000)
        encoded = [exchange.to_json() for exchange in stream[:5000]]
        started = time.perf_counter_ns()
        for record in encoded:
            Exchange.from_dict(orjson.loads(record))
        results["detector_decode_per_exchange_us"] = (time.perf_counter_ns() - started) / len(encoded) / 1000
        worker = LiveDetector(model(), [("flag", -4.0)])
        timings = []
        for start in range(0, len(stream), 500):
            started = time.perf_counter_ns()
            worker.process(stream[start:start + 500])
            timings.append((time.perf_counter_ns() - started) / 500 / 1000)
        results["detector_process_per_exchange_us"] = statistics.median(timings)
        store.close()

    results["accounts_in_risk_table"] = args.accounts
    results["cpu_count"] = os.cpu_count()
    width = max(len(name) for name in results)
    for name, value in results.items():
        print(f"{name:<{width}}  {value:.3f}" if isinstance(value, float) else f"{name:<{width}}  {value}")
    hot = max(results["decide_flagged_us"], results["harden_request_us"], results["throttle_limits_us"]
              + results["decide_flagged_us"])
    print(f"worst hot-path policy cost per request: {hot:.2f} µs (goal < 100 µs); "
          f"log-writer side: {results['feed_per_exchange_us']:.3f} µs per exchange")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
