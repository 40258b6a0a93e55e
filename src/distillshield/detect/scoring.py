"""Turning an account's features into a score, and a score into a decision at a chosen false-positive rate.

``DistillationScorer`` is a standardised logistic regression (scikit-learn):
its weights come from labelled traffic, and each feature's contribution
(weight × standardised value) is the reason it gives. ``Threshold`` is learned
from benign reference traffic only: the highest score each benign account
ever reached (the same quantity a live decision uses), so that ``fpr`` is the
share of ordinary accounts that would ever be flagged. With enough reference
accounts the threshold is the empirical conformal quantile; with fewer, the
tail above the 90th percentile is fitted by an exponential (peaks over
threshold) and extrapolated.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from distillshield.detect.state import FEATURE_DIRECTIONS, FEATURE_NAMES
from distillshield.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Contribution:
    feature: str
    weight: float


class DistillationScorer:
    """Logistic regression on standardised account features, each weight held to its signal's known direction.

    The sign bounds (``FEATURE_DIRECTIONS``) keep the model from learning that, say, asking for
    step-by-step reasoning makes an account *less* suspect because some ordinary application in the
    training traffic did so: a pattern of the simulator, not of distillation.
    """

    def __init__(self, *, regularization: float = 1.0):
        self.regularization = regularization

    def fit(self, features: np.ndarray, labels: np.ndarray, sample_weight: np.ndarray | None = None):
        from scipy.optimize import minimize

        self.mean_ = features.mean(axis=0)
        self.scale_ = features.std(axis=0)
        self.scale_[self.scale_ < 1e-9] = 1.0
        standardised = (features - self.mean_) / self.scale_
        weights = np.ones(len(labels)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        weights = weights * len(weights) / weights.sum()
        targets = np.asarray(labels, dtype=float)

        def loss_and_gradient(params: np.ndarray) -> tuple[float, np.ndarray]:
            coef, intercept = params[:-1], params[-1]
            logits = standardised @ coef + intercept
            # log(1 + e^z) - y z, computed without overflow
            loss = weights @ (np.logaddexp(0.0, logits) - targets * logits) + coef @ coef / (2 * self.regularization)
            residual = weights * (1.0 / (1.0 + np.exp(-logits)) - targets)
            gradient = np.append(standardised.T @ residual + coef / self.regularization, residual.sum())
            return float(loss), gradient

        bounds = [(0.0, None) if d > 0 else (None, 0.0) if d < 0 else (None, None) for d in FEATURE_DIRECTIONS]
        result = minimize(loss_and_gradient, np.zeros(standardised.shape[1] + 1), jac=True, method="L-BFGS-B",
                          bounds=[*bounds, (None, None)], options={"maxiter": 5000})
        self.coef_ = result.x[:-1]
        self.intercept_ = float(result.x[-1])
        return self

    @classmethod
    def from_weights(cls, weights: dict[str, float], intercept: float) -> DistillationScorer:
        """A hand-set scorer on unscaled features: log-odds = intercept + Σ weight × feature."""
        scorer = cls()
        scorer.mean_ = np.zeros(len(FEATURE_NAMES))
        scorer.scale_ = np.ones(len(FEATURE_NAMES))
        scorer.coef_ = np.array([weights.get(name, 0.0) for name in FEATURE_NAMES])
        scorer.intercept_ = float(intercept)
        return scorer

    def score(self, vector: np.ndarray) -> float:
        """The log-odds that the account is distilling (comparable across accounts)."""
        return float(self.intercept_ + self.contributions_array(vector).sum())

    def contributions_array(self, vector: np.ndarray) -> np.ndarray:
        return self.coef_ * (vector - self.mean_) / self.scale_

    def reasons(self, vector: np.ndarray, top: int = 4) -> list[Contribution]:
        return _top_contributions(self.contributions_array(vector), top)

    def to_dict(self) -> dict:
        return {"kind": "linear", "features": list(FEATURE_NAMES), "mean": self.mean_.tolist(), "scale": self.scale_.tolist(),
                "coef": self.coef_.tolist(), "intercept": self.intercept_, "regularization": self.regularization}

    @classmethod
    def from_dict(cls, data: dict) -> DistillationScorer:
        scorer = cls(regularization=data.get("regularization", 1.0))
        scorer.mean_ = np.asarray(data["mean"])
        scorer.scale_ = np.asarray(data["scale"])
        scorer.coef_ = np.asarray(data["coef"])
        scorer.intercept_ = float(data["intercept"])
        return scorer


class BoostedScorer:
    """Gradient-boosted trees (LightGBM), monotone in every signal with a direction.

    Trees see what a linear score cannot: templated traffic is ordinary for an application that
    sends one task, and suspect for an account sweeping many. Each weight-of-evidence constraint
    of ``FEATURE_DIRECTIONS`` holds for the whole model (monotone constraints), so no signal can
    argue for innocence that domain knowledge says argues for guilt. The fitted trees are read from
    LightGBM's public model dump and kept as plain arrays (JSON, no pickle); a score's reasons are the
    per-feature changes along each tree's path (Saabas attribution), which add up exactly to the score
    minus the trees' root values.
    """

    def __init__(self, *, max_depth: int = 3, max_iter: int = 200, learning_rate: float = 0.1,
                 l2_regularization: float = 1.0, min_child_samples: int = 20):
        self.max_depth = max_depth
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.l2_regularization = l2_regularization
        self.min_child_samples = min_child_samples

    def fit(self, features: np.ndarray, labels: np.ndarray, sample_weight: np.ndarray | None = None):
        import lightgbm

        params = {"objective": "binary", "max_depth": self.max_depth, "num_leaves": 2 ** self.max_depth,
                  "learning_rate": self.learning_rate, "lambda_l2": self.l2_regularization,
                  "min_data_in_leaf": self.min_child_samples, "monotone_constraints": list(FEATURE_DIRECTIONS),
                  "deterministic": True, "force_row_wise": True, "num_threads": 2, "seed": 0, "verbose": -1}
        data = lightgbm.Dataset(np.asarray(features, dtype=float), label=labels, weight=sample_weight,
                                params={"verbose": -1})
        booster = lightgbm.train(params, data, num_boost_round=self.max_iter)
        self.baseline_ = 0.0   # LightGBM folds the prior log-odds into the first tree's values
        self._set_trees([_tree_arrays(tree["tree_structure"]) for tree in booster.dump_model()["tree_info"]])
        return self

    def _set_trees(self, trees: list[dict]) -> None:
        width = max(len(tree["feature"]) for tree in trees)

        def stacked(name: str, dtype) -> np.ndarray:
            out = np.zeros((len(trees), width), dtype=dtype)
            for row, tree in enumerate(trees):
                out[row, :len(tree[name])] = tree[name]
            return out

        self.trees_ = trees
        self.feature_ = stacked("feature", np.int64)
        self.threshold_ = stacked("threshold", float)
        self.left_ = stacked("left", np.int64)
        self.right_ = stacked("right", np.int64)
        self.leaf_ = stacked("leaf", bool)
        self.value_ = stacked("value", float)
        self.depth_ = max(tree["depth"] for tree in trees)

    def _paths(self, vector: np.ndarray) -> list[np.ndarray]:
        """The node each tree is at, level by level, all trees at once."""
        rows = np.arange(len(self.trees_))
        node = np.zeros(len(rows), dtype=np.int64)
        path = [node]
        for _ in range(self.depth_):
            goes_left = vector[self.feature_[rows, node]] <= self.threshold_[rows, node]
            step = np.where(goes_left, self.left_[rows, node], self.right_[rows, node])
            node = np.where(self.leaf_[rows, node], node, step)
            path.append(node)
        return path

    def score(self, vector: np.ndarray) -> float:
        """The log-odds that the account is distilling (comparable across accounts)."""
        leaves = self._paths(np.asarray(vector, dtype=float))[-1]
        return float(self.baseline_ + self.value_[np.arange(len(leaves)), leaves].sum())

    def contributions_array(self, vector: np.ndarray) -> np.ndarray:
        rows = np.arange(len(self.trees_))
        parts = np.zeros(len(FEATURE_NAMES))
        path = self._paths(np.asarray(vector, dtype=float))
        for parent, child in zip(path, path[1:]):
            moved = parent != child
            gains = self.value_[rows, child] - self.value_[rows, parent]
            np.add.at(parts, self.feature_[rows, parent][moved], gains[moved])
        return parts

    def reasons(self, vector: np.ndarray, top: int = 4) -> list[Contribution]:
        return _top_contributions(self.contributions_array(vector), top)

    def to_dict(self) -> dict:
        return {"kind": "boosted", "features": list(FEATURE_NAMES), "baseline": self.baseline_,
                "params": {"max_depth": self.max_depth, "max_iter": self.max_iter,
                           "learning_rate": self.learning_rate, "l2_regularization": self.l2_regularization,
                           "min_child_samples": self.min_child_samples},
                "trees": [{name: (np.round(values, 6).tolist() if name in ("threshold", "value") else values)
                           for name, values in tree.items()} for tree in self.trees_]}

    @classmethod
    def from_dict(cls, data: dict) -> BoostedScorer:
        scorer = cls(**data.get("params", {}))
        scorer.baseline_ = float(data["baseline"])
        scorer._set_trees([{**tree, "threshold": np.asarray(tree["threshold"], dtype=float),
                            "value": np.asarray(tree["value"], dtype=float)} for tree in data["trees"]])
        return scorer


def _tree_arrays(root: dict) -> dict:
    """One tree of LightGBM's dump (nested nodes) as flat arrays, node 0 the root; an inner node's value is
    LightGBM's own value for it (what the tree would say had it stopped there)."""
    tree = {"feature": [], "threshold": [], "left": [], "right": [], "leaf": [], "value": [], "depth": 0}

    def add(node: dict, depth: int) -> int:
        index = len(tree["feature"])
        leaf = "leaf_value" in node
        tree["depth"] = max(tree["depth"], depth)
        for name, value in (("feature", 0 if leaf else int(node["split_feature"])),
                            ("threshold", 0.0 if leaf else float(node["threshold"])),
                            ("left", index), ("right", index), ("leaf", leaf),
                            ("value", float(node["leaf_value"] if leaf else node["internal_value"]))):
            tree[name].append(value)
        if not leaf:
            if node.get("decision_type", "<=") != "<=":
                raise ValueError(f"unexpected split {node.get('decision_type')!r} in a LightGBM tree")
            tree["left"][index] = add(node["left_child"], depth + 1)
            tree["right"][index] = add(node["right_child"], depth + 1)
        return index

    add(root, 0)
    tree["threshold"] = np.asarray(tree["threshold"], dtype=float)
    tree["value"] = np.asarray(tree["value"], dtype=float)
    return tree


def _top_contributions(parts: np.ndarray, top: int) -> list[Contribution]:
    order = np.argsort(-parts)
    return [Contribution(FEATURE_NAMES[i], round(float(parts[i]), 3)) for i in order[:top] if parts[i] > 0]


def scorer_from_dict(data: dict):
    if list(data.get("features", [])) != list(FEATURE_NAMES):
        raise ConfigError("the detector model was trained on other features; retrain it "
                          "(python bench/train_detector.py)")
    return BoostedScorer.from_dict(data) if data.get("kind") == "boosted" else DistillationScorer.from_dict(data)


class Threshold:
    """The score above which an account is flagged, so that a share ``fpr`` of benign accounts would be."""

    def __init__(self, fpr: float = 1e-3, *, tail_fraction: float = 0.1):
        if not 0 < fpr < 1:
            raise ConfigError(f"fpr must be between 0 and 1, got {fpr}")
        self.fpr = fpr
        self.tail_fraction = tail_fraction

    def fit(self, benign_max_scores: np.ndarray) -> Threshold:
        scores = np.sort(np.asarray(benign_max_scores, dtype=float))
        count = len(scores)
        if count < 20:
            raise ConfigError(f"calibration needs at least 20 benign reference accounts, got {count}")
        self.reference_accounts_ = count
        if count + 1 >= 2 / self.fpr:
            # conformal: flagging s > q keeps P(benign flagged) <= fpr for exchangeable accounts
            rank = math.ceil((1 - self.fpr) * (count + 1))
            self.value_ = float(scores[min(rank, count) - 1])
            self.method_ = "empirical"
        else:
            self.value_ = _exponential_tail_quantile(scores, self.fpr, self.tail_fraction)
            self.method_ = "exponential tail"
        return self

    def to_dict(self) -> dict:
        return {"fpr": self.fpr, "value": self.value_, "method": self.method_,
                "reference_accounts": self.reference_accounts_}


def _exponential_tail_quantile(sorted_scores: np.ndarray, fpr: float, tail_fraction: float) -> float:
    count = len(sorted_scores)
    tail_count = max(10, int(count * tail_fraction))
    base = sorted_scores[count - tail_count - 1] if count > tail_count else sorted_scores[0]
    excess = sorted_scores[count - tail_count:] - base
    mean_excess = max(float(excess.mean()), 1e-6)
    # P(score > base + x) ≈ (tail_count / count) · exp(−x / mean_excess)
    return float(base + mean_excess * math.log((tail_count / count) / fpr))


@dataclass
class DetectorModel:
    """A trained scorer plus the benign reference scores thresholds are drawn from."""

    scorer: DistillationScorer | BoostedScorer
    benign_max_scores: np.ndarray
    trained_on: dict

    @property
    def uses_embeddings(self) -> bool:
        """Whether the scorer was fitted with the topic signal (and so needs prompt embeddings)."""
        return bool(self.trained_on.get("embeddings", False))

    def threshold(self, fpr: float) -> Threshold:
        return Threshold(fpr).fit(self.benign_max_scores)

    def save(self, path: str | Path) -> None:
        data = {"scorer": self.scorer.to_dict(), "benign_max_scores": [round(float(s), 4) for s in self.benign_max_scores],
                "trained_on": self.trained_on}
        Path(path).write_text(json.dumps(data, indent=1))

    @classmethod
    def load(cls, path: str | Path | None = None) -> DetectorModel:
        path = Path(path) if path else default_model_path()
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"detector model {path} does not exist") from None
        return cls(scorer_from_dict(data["scorer"]), np.asarray(data["benign_max_scores"]),
                   data.get("trained_on", {}))

    def with_reference(self, benign_max_scores: np.ndarray, description: str) -> DetectorModel:
        """The same scorer, calibrated on another benign reference (an operator's own traffic)."""
        return DetectorModel(self.scorer, np.asarray(benign_max_scores), {**self.trained_on, "reference": description})


def default_model_path() -> Path:
    return Path(__file__).with_name("model.json")
