"""Fit the shipped detector (src/distillshield/detect/model.json) on simulated traffic from tuning sources only.

    python bench/train_detector.py [--scale 1.0] [--no-embeddings] [--out PATH]

1. fit: simulate FIT_SEEDS with the tuning prompt sources, replay them through the
   engine as if live, and fit the scorer on every account's (and cluster's) features
   at every checkpoint;
2. calibrate: simulate REFERENCE_SEEDS (ordinary accounts only, other seeds) and keep
   the highest score each ordinary account ever reached: thresholds are drawn from these.
The evaluation (bench/detect_eval.py) uses other prompt sources and other seeds.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detect_common import FIT_SEEDS, REFERENCE_SEEDS, data_dir, labels_of, simulation  # noqa: E402

from distillshield.detect.embed import PromptEmbedder  # noqa: E402
from distillshield.detect.scoring import DetectorModel, default_model_path  # noqa: E402
from distillshield.detect.state import FEATURE_NAMES  # noqa: E402
from distillshield.detect.training import benign_max_scores, collect_snapshots, fit_scorer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--reference-scale", type=float, default=2.0)
    parser.add_argument("--no-embeddings", action="store_true")
    parser.add_argument("--out", default=str(default_model_path()))
    args = parser.parse_args()
    embedder = None if args.no_embeddings else PromptEmbedder(threads=2)
    started = time.perf_counter()

    snapshots, labels = [], {}
    for seed in FIT_SEEDS:
        sim = simulation(seed, "tune", scale=args.scale)
        snapshots += collect_snapshots(sim.exchanges, embedder)
        labels.update({name: row["label"] == "distill" for name, row in labels_of(sim).items()})
        print(f"fit seed {seed}: {len(sim.exchanges)} exchanges, {len(sim.labels)} accounts "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
    scorer = fit_scorer(snapshots, labels)

    reference = []
    for seed in REFERENCE_SEEDS:
        sim = simulation(seed, "tune", scale=args.reference_scale, benign_only=True)
        reference.append(benign_max_scores(sim.exchanges, scorer, set(labels_of(sim)), embedder))
        print(f"reference seed {seed}: {len(sim.labels)} ordinary accounts "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
    scores = np.concatenate(reference)
    model = DetectorModel(scorer, scores, {
        "trained": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "fit": {"seeds": FIT_SEEDS, "scale": args.scale, "snapshots": len(snapshots), "accounts": len(labels)},
        "reference": {"seeds": REFERENCE_SEEDS, "scale": args.reference_scale, "accounts": len(scores)},
        "prompt_data": "../shared/data tuning sources" if data_dir() else "built-in generators",
        "embeddings": embedder is not None,
    })
    model.save(args.out)
    for fpr in (1e-2, 1e-3):
        threshold = model.threshold(fpr)
        print(f"threshold at fpr {fpr:g}: {threshold.value_:.3f} ({threshold.method_}, "
              f"{threshold.reference_accounts_} reference accounts)")
    splits = Counter(scorer.feature_[~scorer.leaf_].tolist())
    print("splits per signal:", ", ".join(f"{FEATURE_NAMES[index]} {count}" for index, count in splits.most_common()))
    print(f"wrote {args.out} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
