"""Fitting the scorer on labelled traffic and calibrating it on benign reference traffic."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

import numpy as np

from distillshield.detect.embed import PromptEmbedder
from distillshield.detect.engine import DetectionEngine
from distillshield.detect.scoring import BoostedScorer, DetectorModel
from distillshield.records import Exchange


def collect_snapshots(exchanges: Iterable[Exchange], embedder: PromptEmbedder | None,
                      link_every: int = 2000) -> list[tuple[tuple[str, ...], int, np.ndarray]]:
    """Feature vectors of every account (and cluster) at every checkpoint, as the live engine sees them."""
    engine = DetectionEngine(None, embedder=embedder, link_every=link_every)
    engine.snapshots = []
    engine.observe_all(exchanges)
    engine.link()
    return engine.snapshots


def fit_scorer(snapshots, is_distill: dict[str, bool]) -> BoostedScorer:
    """Each account (or cluster) weighs the same in total, however many checkpoints it reached;
    the two classes weigh the same."""
    per_subject = Counter(subject for subject, _, _ in snapshots)
    rows, labels, weights = [], [], []
    for subject, _count, vector in snapshots:
        votes = [is_distill[name] for name in subject if name in is_distill]
        if not votes:
            continue
        rows.append(vector)
        labels.append(int(sum(votes) * 2 > len(votes)))
        weights.append(1.0 / per_subject[subject])
    labels_array = np.asarray(labels)
    weights_array = np.asarray(weights)
    for label in (0, 1):  # each class sums to half the rows, so the weights average 1
        chosen = labels_array == label
        weights_array[chosen] *= len(weights_array) / 2 / weights_array[chosen].sum()
    return BoostedScorer().fit(np.asarray(rows), labels_array, weights_array)


def benign_max_scores(exchanges: Iterable[Exchange], scorer, benign: set[str],
                      embedder: PromptEmbedder | None) -> np.ndarray:
    """The highest score each benign account ever reached, its clusters included: what a threshold must clear."""
    engine = DetectionEngine(DetectorModel(scorer, np.zeros(0), {}), embedder=embedder, threshold=float("inf"))
    engine.observe_all(exchanges)
    engine.link()
    return np.asarray([engine.tracks[name].best_score for name in sorted(benign) if name in engine.tracks])


def train_model(tune: list[Exchange], tune_labels: dict[str, bool], reference: list[Exchange],
                reference_benign: set[str], embedder: PromptEmbedder | None, description: dict) -> DetectorModel:
    scorer = fit_scorer(collect_snapshots(tune, embedder), tune_labels)
    scores = benign_max_scores(reference, scorer, reference_benign, embedder)
    return DetectorModel(scorer, scores, description)


def labels_by_account(label_rows: Iterable[dict]) -> dict[str, bool]:
    return {row["account"]: row["label"] == "distill" for row in label_rows}


def group_by_kind(label_rows: Iterable[dict]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for row in label_rows:
        groups[row["kind"]].append(row["account"])
    return groups
