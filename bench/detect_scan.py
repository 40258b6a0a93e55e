"""The product path: ``distillshield scan`` as shipped (the shipped model, thresholds from the scanned accounts)
on labelled logs, scored against their labels.

    python bench/detect_scan.py --set NAME=FOLDER [--set ...] [--fpr 0.001 --fpr 0.01] [--json out.json]

Each folder holds ``exchanges.jsonl`` and ``labels.jsonl`` (bench/detect_eval.py's formats). Printed per log
and rate: ordinary accounts flagged (the measured false-positive rate), campaign accounts flagged, campaign
shapes with at least one account flagged, the median ``flagged_after``, false flags by kind, exchanges/s.
Every account ``scan`` writes counts, those under 5 requests included.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detect_common import read_labels  # noqa: E402

from distillshield.detect.scan import scan  # noqa: E402


def check(folder: Path, fpr: float) -> dict:
    labels = read_labels(folder / "labels.jsonl")
    with tempfile.TemporaryDirectory() as scratch:
        report = scan(folder / "exchanges.jsonl", Path(scratch) / "verdicts.jsonl", fpr=fpr, use_embeddings=False)
    flagged = {verdict.account: verdict for verdict in report.verdicts if verdict.flagged}
    ordinary = [a for a, label in labels.items() if not label["distill"]]
    campaign = [a for a, label in labels.items() if label["distill"]]
    shapes = {labels[a]["kind"] for a in campaign}
    return {"fpr": fpr, "ordinary": len(ordinary), "ordinary_flagged": sum(a in flagged for a in ordinary),
            "campaign": len(campaign), "campaign_flagged": sum(a in flagged for a in campaign),
            "shapes": len(shapes), "shapes_detected": len({labels[a]["kind"] for a in campaign if a in flagged}),
            "median_flagged_after": (statistics.median(flagged[a].flagged_after for a in campaign if a in flagged)
                                     if any(a in flagged for a in campaign) else None),
            "false_flags_by_kind": dict(Counter(labels[a]["kind"] for a in ordinary if a in flagged)),
            "exchanges_per_second": report.exchanges / report.seconds, "threshold": report.threshold}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", dest="sets", action="append", required=True, metavar="NAME=FOLDER")
    parser.add_argument("--fpr", dest="fprs", action="append", type=float)
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args()
    results = {}
    for spec in args.sets:
        name, _, folder = spec.partition("=")
        for fpr in args.fprs or [1e-3, 1e-2]:
            row = results.setdefault(name, {})[f"{fpr:g}"] = check(Path(folder), fpr)
            print(f"{name} --fpr {fpr:g}: ordinary flagged {row['ordinary_flagged']}/{row['ordinary']} "
                  f"({row['ordinary_flagged'] / row['ordinary']:.4f}); campaign {row['campaign_flagged']}/"
                  f"{row['campaign']}; shapes {row['shapes_detected']}/{row['shapes']}; median after "
                  f"{row['median_flagged_after']}; false flags {row['false_flags_by_kind']}; "
                  f"{row['exchanges_per_second']:.0f} exchanges/s", flush=True)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
