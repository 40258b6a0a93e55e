"""Building the live detector the settings ask for: its model, the thresholds of its levels, its embedder."""

from __future__ import annotations

import logging
from pathlib import Path

from distillshield.detect.live import LiveDetector, level_thresholds
from distillshield.errors import ConfigError
from distillshield.gateway.levels import ACTION_LEVELS
from distillshield.records import Settings

log = logging.getLogger("distillshield.policy")


def detector_parts(settings: Settings, *, model=None, embedder="auto"):
    """(model, levels, embedder) for the detection the settings ask for, or None (off, or no model)."""
    from distillshield.detect.scoring import DetectorModel, default_model_path

    if not settings.detect:
        log.info("live detection is off (setting detect = false); only operator overrides apply")
        return None
    if model is None:
        path = Path(settings.detect_model) if settings.detect_model else default_model_path()
        if not settings.detect_model and not path.exists():
            log.warning("live detection is off: no detector model at %s (train one, or set detect_model); "
                        "only operator overrides apply", path)
            return None
        model = DetectorModel.load(path)
    fprs = []
    for level in ACTION_LEVELS:
        fpr = getattr(settings, f"policy_{level}_fpr")
        if fpr >= 1:
            raise ConfigError(f"setting policy_{level}_fpr must be below 1 (0: never automatic), got {fpr}")
        fprs.append((level, fpr))
    if embedder == "auto":
        embedder = None
        if settings.detect_embeddings and model.uses_embeddings:
            from distillshield.detect.embed import PromptEmbedder
            embedder = PromptEmbedder()
    levels = [(name, threshold) for name, threshold in level_thresholds(model, fprs) if threshold is not None]
    return model, levels, embedder


def level_fprs(settings: Settings) -> list[tuple[str, float]]:
    """(level, false-positive rate) of each action level: the live detector draws their thresholds from the
    accounts it has seen once there are enough of them (detect/calibration.py)."""
    return [(level, getattr(settings, f"policy_{level}_fpr")) for level in ACTION_LEVELS]


def make_live_detector(settings: Settings, policy, *, model=None, embedder="auto") -> LiveDetector | None:
    """The live detector the settings ask for, or None (detection off, or no model to detect with);
    ``policy.on_level_change(old_level, risk)`` hears of each level it gives an account."""
    parts = detector_parts(settings, model=model, embedder=embedder)
    if parts is None:
        return None
    model, levels, embedder = parts
    detector = LiveDetector(model, levels, embedder=embedder, queue_size=settings.detect_queue_size,
                            queue_bytes=settings.detect_queue_bytes, on_change=policy.on_level_change,
                            link_every=max(1, settings.detect_link_every), fprs=level_fprs(settings))
    described = ", ".join(f"{name} >= {threshold:.3f}" for name, threshold in detector.levels) or "no level"
    log.info("live detection on: %s", described)
    return detector
