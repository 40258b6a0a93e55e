"""How well the shipped detector separates distillation from ordinary use, on traffic it was not tuned on.

    python bench/detect_eval.py [--scale 1.0] [--seeds 101,102] [--no-embeddings] [--json out.json]

Simulates EVAL_SEEDS with prompt sources held out of tuning (bench/detect_common.py),
replays each log through the engine in time order as `distillshield scan` does, and
reports: account-level AUROC; TPR and measured FPR at the thresholds the shipped
reference sets for FPR 1e-3 and 1e-2 (and, for comparison, at the evaluation's own
benign quantile); the median `flagged_after` per campaign kind; what was flagged of
each ordinary kind; cluster precision and recall over account pairs; scan throughput.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detect_common import EVAL_SEEDS, labels_of, simulation  # noqa: E402

from distillshield.detect import DetectionEngine, DetectorModel  # noqa: E402
from distillshield.detect.embed import PromptEmbedder  # noqa: E402

FPRS = (1e-3, 1e-2)


def evaluate_seed(seed: int, model: DetectorModel, embedder, scale: float) -> tuple[list[dict], dict]:
    sim = simulation(seed, "eval", scale=scale)
    labels = labels_of(sim)
    started = time.perf_counter()
    engine = DetectionEngine(model, fpr=FPRS[0], embedder=embedder)
    engine.observe_all(sim.exchanges)
    verdicts = engine.verdicts()
    seconds = time.perf_counter() - started
    rows = [{**labels[v.account], "score": v.score, "flagged_after": v.flagged_after, "cluster": v.cluster,
             "requests": v.requests, "seed": seed,
             "top_reason": v.reasons[0]["signal"] if v.reasons else None} for v in verdicts]
    return rows, {"seed": seed, "exchanges": len(sim.exchanges), "accounts": len(rows), "seconds": seconds}


def tpr_at(scores: np.ndarray, is_distill: np.ndarray, threshold: float) -> tuple[float, float]:
    flagged = scores >= threshold
    return float(flagged[is_distill].mean()), float(flagged[~is_distill].mean())


def cluster_pairs(rows: list[dict]) -> dict:
    """Pairwise precision and recall of clusters against campaigns (within each simulated world)."""
    together = same_campaign = both = 0
    by_seed = defaultdict(list)
    for row in rows:
        by_seed[row["seed"]].append(row)
    for seed_rows in by_seed.values():
        for a, b in combinations(seed_rows, 2):
            clustered = a["cluster"] is not None and a["cluster"] == b["cluster"]
            campaign = a["campaign"] is not None and a["campaign"] == b["campaign"]
            together += clustered
            same_campaign += campaign
            both += clustered and campaign
    return {"precision": both / together if together else None, "recall": both / same_campaign if same_campaign else None,
            "clustered_pairs": together, "campaign_pairs": same_campaign}


def summarise(rows: list[dict], runs: list[dict], model: DetectorModel) -> dict:
    scores = np.array([row["score"] for row in rows])
    is_distill = np.array([row["label"] == "distill" for row in rows])
    benign_sorted = np.sort(scores[~is_distill])
    result = {"accounts": len(rows), "distill_accounts": int(is_distill.sum()),
              "benign_accounts": int((~is_distill).sum()), "auroc": float(roc_auc_score(is_distill, scores)),
              "exchanges": sum(run["exchanges"] for run in runs),
              "scan_exchanges_per_s": sum(run["exchanges"] for run in runs) / sum(run["seconds"] for run in runs),
              "at_fpr": {}}
    for fpr in FPRS:
        threshold = model.threshold(fpr).value_
        tpr, measured_fpr = tpr_at(scores, is_distill, threshold)
        own = benign_sorted[min(len(benign_sorted) - 1, int(np.ceil((1 - fpr) * len(benign_sorted))))]
        own_tpr = float((scores[is_distill] > own).mean())
        result["at_fpr"][f"{fpr:g}"] = {"threshold": threshold, "tpr": tpr, "measured_fpr": measured_fpr,
                                        "benign_flagged": int((scores[~is_distill] >= threshold).sum()),
                                        "tpr_at_eval_quantile": own_tpr}
    kinds = defaultdict(list)
    for row in rows:
        kinds[row["kind"]].append(row)
    result["by_kind"] = {}
    for kind, members in sorted(kinds.items()):
        after = [m["flagged_after"] for m in members if m["flagged_after"] is not None]
        result["by_kind"][kind] = {
            "label": members[0]["label"], "accounts": len(members), "flagged": len(after),
            "median_flagged_after": statistics.median(after) if after else None,
            "median_requests": statistics.median(m["requests"] for m in members),
            "top_reasons": _top(m["top_reason"] for m in members if m["flagged_after"] is not None)}
    result["clusters"] = cluster_pairs(rows)
    return result


def _top(values) -> list[str]:
    counts = defaultdict(int)
    for value in values:
        counts[value] += 1
    return [name for name, _ in sorted(counts.items(), key=lambda item: -item[1])[:2]]


def report(result: dict) -> str:
    lines = [f"{result['accounts']} accounts ({result['distill_accounts']} distilling), {result['exchanges']} exchanges; "
             f"AUROC {result['auroc']:.4f}; scan {result['scan_exchanges_per_s']:.0f} exchanges/s"]
    for fpr, row in result["at_fpr"].items():
        lines.append(f"at fpr {fpr}: TPR {row['tpr']:.3f} with the shipped threshold {row['threshold']:.2f} "
                     f"(measured FPR {row['measured_fpr']:.4f}, {row['benign_flagged']} ordinary accounts flagged); "
                     f"TPR {row['tpr_at_eval_quantile']:.3f} at the evaluation's own benign quantile")
    lines.append("")
    lines.append(f"{'kind':<20}{'label':<9}{'accounts':>9}{'flagged':>9}{'median after':>14}{'median reqs':>13}  top reasons")
    for kind, row in result["by_kind"].items():
        after = "-" if row["median_flagged_after"] is None else f"{row['median_flagged_after']:.0f}"
        lines.append(f"{kind:<20}{row['label']:<9}{row['accounts']:>9}{row['flagged']:>9}{after:>14}"
                     f"{row['median_requests']:>13.0f}  {', '.join(row['top_reasons'])}")
    clusters = result["clusters"]
    if clusters["precision"] is not None:
        lines.append(f"\nclusters: pairwise precision {clusters['precision']:.3f}, recall {clusters['recall']:.3f} "
                     f"({clusters['clustered_pairs']} clustered pairs, {clusters['campaign_pairs']} campaign pairs)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seeds", default=",".join(map(str, EVAL_SEEDS)))
    parser.add_argument("--model", help="detector model JSON (default: the shipped one)")
    parser.add_argument("--no-embeddings", action="store_true")
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args()
    model = DetectorModel.load(args.model)
    embedder = PromptEmbedder() if model.uses_embeddings and not args.no_embeddings else None
    rows, runs = [], []
    for seed in (int(s) for s in args.seeds.split(",")):
        seed_rows, run = evaluate_seed(seed, model, embedder, args.scale)
        rows += seed_rows
        runs.append(run)
        print(f"seed {seed}: {run['exchanges']} exchanges in {run['seconds']:.0f} s", flush=True)
    result = summarise(rows, runs, model)
    print(report(result))
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
