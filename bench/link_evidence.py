"""What accounts of one campaign share that ordinary accounts do not: the evidence linking could use.

    python bench/link_evidence.py --cache DIR --set NAME=GENERATOR_OUT_DIR [--set ...] [--json out.json]

Reads the observation that ``bench/detect_eval.py --cache DIR`` saved for each set (its link keys and each
account's final feature vector) and the set's ``exchanges.jsonl``. For every pair of accounts that shares at
least one kind of evidence linking reads (``cluster.shared_evidence_by_keys``: a rare network, client or
template; a prompt stream when the cache was observed with embeddings), it counts campaign pairs (both
accounts in one campaign) against ordinary pairs, overall and among pairs whose behaviour profiles are
close (the root-mean-square distance of their standardised feature vectors, volume left out). Separately,
it counts pairs where one account's request carried, as conversation history, an answer first served to the
other account.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detect_common import read_labels  # noqa: E402

from distillshield.detect import cluster  # noqa: E402
from distillshield.detect.features import extract  # noqa: E402
from distillshield.detect.scan import read_in_time_order  # noqa: E402
from distillshield.detect.state import FEATURE_NAMES  # noqa: E402

DISTANCES = (0.1, 0.2, 0.3, 0.5)
VOLUME = {"log_requests", "log_rate_per_hour", "log_active_hours", "log_harvest_like", "topic_spread",
          "round_the_clock"}


def campaign_pairs(labels: dict) -> int:
    sizes = Counter(label["campaign"] for label in labels.values() if label["campaign"])
    return sum(size * (size - 1) // 2 for size in sizes.values())


def shared_kinds(data: dict) -> dict:
    labels = data["labels"]
    columns = [i for i, name in enumerate(FEATURE_NAMES) if name not in VOLUME]
    vectors = {a: v[columns] for a, v in data["final_vectors"].items()}
    spread = np.asarray(list(vectors.values())).std(axis=0)
    spread[spread < 1e-9] = 1.0
    table: dict[str, dict] = {}
    for (first, second), kinds in cluster.shared_evidence_by_keys(data["link_keys"]).items():
        same = labels.get(first, {}).get("campaign") is not None and \
            labels[first]["campaign"] == labels.get(second, {}).get("campaign")
        distance = float(np.sqrt((((vectors[first] - vectors[second]) / spread) ** 2).mean()))
        row = table.setdefault("+".join(sorted(kinds)), {"campaign": 0, "ordinary": 0,
                                                          **{f"d<{d}": [0, 0] for d in DISTANCES}})
        row["campaign" if same else "ordinary"] += 1
        for limit in DISTANCES:
            if distance < limit:
                row[f"d<{limit}"][0 if same else 1] += 1
    return table


def carried_answers(folder: Path, labels: dict) -> dict:
    """Pairs (first server, carrier) by whether both are in one campaign, one is, or neither."""
    first_served: dict[int, str] = {}
    carried: set[tuple[str, str]] = set()
    for exchange in read_in_time_order(folder / "exchanges.jsonl"):
        item = extract(exchange)
        for key in item.history_answer_keys:
            owner = first_served.get(key)
            if owner is not None and owner != item.account:
                carried.add((owner, item.account))
        if item.answer_key is not None:
            first_served.setdefault(item.answer_key, item.account)
    out = Counter()
    for owner, carrier in carried:
        campaigns = labels.get(owner, {}).get("campaign"), labels.get(carrier, {}).get("campaign")
        out["campaign" if campaigns[0] and campaigns[0] == campaigns[1] else
            "mixed" if any(campaigns) else "ordinary"] += 1
    return dict(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, required=True, help="bench/detect_eval.py's --cache folder")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=FOLDER")
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args()
    results = {}
    for spec in args.sets:
        name, _, folder = spec.partition("=")
        data = pickle.loads((args.cache / f"{name}.pkl").read_bytes())
        labels = read_labels(Path(folder) / "labels.jsonl")
        results[name] = {"campaign_pairs": campaign_pairs(labels), "shared_kinds": shared_kinds(data),
                         "carried_answers": carried_answers(Path(folder), labels)}
        print(f"{name}: {results[name]['campaign_pairs']} campaign pairs; pairs sharing rare evidence "
              f"(campaign / ordinary, then within a profile distance):")
        for kinds, row in sorted(results[name]["shared_kinds"].items()):
            close = " ".join(f"{d}: {row[d][0]}/{row[d][1]}" for d in (f"d<{x}" for x in DISTANCES))
            print(f"  {kinds:28s} {row['campaign']:5d} / {row['ordinary']:6d} | {close}")
        print(f"  answers carried from another account's served answers: {results[name]['carried_answers']}")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
