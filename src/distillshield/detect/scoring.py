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

from distillshield.detect.state import FEATURE_NAMES
from distillshield.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Contribution:
    feature: str
    weight: float


class DistillationScorer:
    def __init__(self, *, regularization: float = 1.0):
        self.regularization = regularization

    def fit(self, features: np.ndarray, labels: np.ndarray, sample_weight: np.ndarray | None = None):
        from sklearn.linear_model import LogisticRegression

        self.mean_ = features.mean(axis=0)
        self.scale_ = features.std(axis=0)
        self.scale_[self.scale_ < 1e-9] = 1.0
        model = LogisticRegression(C=self.regularization, max_iter=2000)
        model.fit((features - self.mean_) / self.scale_, labels, sample_weight=sample_weight)
        self.coef_ = model.coef_[0]
        self.intercept_ = float(model.intercept_[0])
        return self

    def score(self, vector: np.ndarray) -> float:
        """The log-odds that the account is distilling (comparable across accounts)."""
        return float(self.intercept_ + self.contributions_array(vector).sum())

    def contributions_array(self, vector: np.ndarray) -> np.ndarray:
        return self.coef_ * (vector - self.mean_) / self.scale_

    def reasons(self, vector: np.ndarray, top: int = 4) -> list[Contribution]:
        parts = self.contributions_array(vector)
        order = np.argsort(-parts)
        return [Contribution(FEATURE_NAMES[i], round(float(parts[i]), 3)) for i in order[:top] if parts[i] > 0]

    def to_dict(self) -> dict:
        return {"features": list(FEATURE_NAMES), "mean": self.mean_.tolist(), "scale": self.scale_.tolist(),
                "coef": self.coef_.tolist(), "intercept": self.intercept_, "regularization": self.regularization}

    @classmethod
    def from_dict(cls, data: dict) -> DistillationScorer:
        if list(data.get("features", [])) != list(FEATURE_NAMES):
            raise ConfigError("the detector model was trained on other features; retrain it "
                              "(python bench/train_detector.py)")
        scorer = cls(regularization=data.get("regularization", 1.0))
        scorer.mean_ = np.asarray(data["mean"])
        scorer.scale_ = np.asarray(data["scale"])
        scorer.coef_ = np.asarray(data["coef"])
        scorer.intercept_ = float(data["intercept"])
        return scorer


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

    scorer: DistillationScorer
    benign_max_scores: np.ndarray
    trained_on: dict

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
        return cls(DistillationScorer.from_dict(data["scorer"]), np.asarray(data["benign_max_scores"]),
                   data.get("trained_on", {}))

    def with_reference(self, benign_max_scores: np.ndarray, description: str) -> DetectorModel:
        """The same scorer, calibrated on another benign reference (an operator's own traffic)."""
        return DetectorModel(self.scorer, np.asarray(benign_max_scores), {**self.trained_on, "reference": description})


def default_model_path() -> Path:
    return Path(__file__).with_name("model.json")
