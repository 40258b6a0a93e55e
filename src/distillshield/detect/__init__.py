"""Detection: per-exchange features, per-account state, clustering, calibrated scoring."""

from distillshield.detect.engine import DetectionEngine, Verdict
from distillshield.detect.scoring import DetectorModel, DistillationScorer, Threshold

__all__ = ["DetectionEngine", "DetectorModel", "DistillationScorer", "Threshold", "Verdict"]
