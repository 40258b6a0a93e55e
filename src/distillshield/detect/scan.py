"""``distillshield scan``: a file of exchanges in, one verdict per account out."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from distillshield.detect.calibration import BENIGN, CAMPAIGN, calibrate
from distillshield.detect.embed import PromptEmbedder
from distillshield.detect.engine import DetectionEngine, Verdict
from distillshield.detect.scoring import DetectorModel
from distillshield.errors import ConfigError
from distillshield.records import BadLine, Exchange, read_exchanges

CALIBRATIONS = ("population", "model")
_CAMPAIGN_POLICIES = ("flag", "throttle", "harden", "block")


@dataclass
class ScanReport:
    exchanges: int = 0
    bad_lines: list[BadLine] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    seconds: float = 0.0
    threshold: float = 0.0
    calibration: dict = field(default_factory=dict)

    @property
    def flagged(self) -> int:
        return sum(verdict.flagged for verdict in self.verdicts)


def read_in_time_order(path: str | Path, on_bad_line: Callable[[BadLine], None] | None = None) -> list[Exchange]:
    """Every readable exchange of a JSONL file, oldest first; unreadable lines go to ``on_bad_line``."""
    exchanges = []
    with open(path, "rb") as stream:
        for item in read_exchanges(stream):
            if isinstance(item, BadLine):
                if on_bad_line:
                    on_bad_line(item)
            else:
                exchanges.append(item)
    exchanges.sort(key=lambda exchange: exchange.epoch)
    return exchanges


def read_feedback(path: str | Path) -> dict[str, str]:
    """An operator's word on accounts: JSONL of ``accounts list --json`` lines (policy ``allow`` means
    ordinary, a pinned level means a confirmed campaign, ``auto`` says nothing) or of
    ``{"account": ..., "label": "benign" | "campaign"}``."""
    feedback = {}
    with open(path, "rb") as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
                account = row.get("account") or row["id"]
            except (orjson.JSONDecodeError, KeyError, AttributeError, TypeError):
                raise ConfigError(f"{path}:{number}: not an account line (want id/account with policy or label)") from None
            label = row.get("label")
            policy = row.get("policy")
            if label in (BENIGN, CAMPAIGN):
                feedback[account] = label
            elif policy == "allow":
                feedback[account] = BENIGN
            elif policy in _CAMPAIGN_POLICIES:
                feedback[account] = CAMPAIGN
            elif label is not None or policy not in (None, "auto"):
                raise ConfigError(f"{path}:{number}: label must be benign or campaign, policy allow, auto or a "
                                  f"level; got {label or policy!r}")
    return feedback


def scan(path: str | Path, out_path: str | Path, *, fpr: float = 1e-3, model: DetectorModel | None = None,
         model_path: str | Path | None = None, reference_path: str | Path | None = None,
         calibration: str = "population", feedback_path: str | Path | None = None, peer_groups: bool = False,
         use_embeddings: bool = True, on_bad_line: Callable[[BadLine], None] | None = None) -> ScanReport:
    """Score every account of ``path``; thresholds from the scanned population (default), the operator's
    ``reference_path`` (ordinary accounts only), or the model's shipped reference (``calibration="model"``)."""
    if calibration not in CALIBRATIONS:
        raise ConfigError(f"calibration must be one of {', '.join(CALIBRATIONS)}, got {calibration!r}")
    report = ScanReport()
    started = time.perf_counter()

    def bad_line(item: BadLine) -> None:
        report.bad_lines.append(item)
        if on_bad_line:
            on_bad_line(item)

    model = model or DetectorModel.load(model_path)
    embedder = PromptEmbedder() if use_embeddings and model.uses_embeddings else None
    feedback = read_feedback(feedback_path) if feedback_path else {}
    exchanges = read_in_time_order(path, bad_line)
    if calibration == "model" and not reference_path:
        engine = DetectionEngine(model, fpr=fpr, embedder=embedder)
        engine.feedback = feedback
        engine.observe_all(exchanges)
        report.calibration = {**model.threshold(fpr).to_dict(), "source": "the model's shipped reference"}
    else:
        engine = DetectionEngine(model, fpr=fpr, embedder=embedder, threshold=float("inf"))
        engine.feedback = feedback
        engine.observe_all(exchanges)
        if reference_path:
            reference = DetectionEngine(model, embedder=embedder, threshold=float("inf"))
            reference.observe_all(read_in_time_order(reference_path))
            reference.link()
            everyone_ordinary = {name: BENIGN for name in reference.states}
            found = calibrate(reference.population(), fpr, source=f"reference {reference_path}",
                              feedback=everyone_ordinary, peer_groups=peer_groups)
            engine.link()
            engine.apply_calibration(found)
        else:
            found = engine.calibrate_on_population(fpr, source=f"scanned population {path}", peer_groups=peer_groups)
        report.calibration = found.to_dict()
    report.verdicts = engine.verdicts()
    report.exchanges = len(exchanges)
    report.threshold = engine.threshold if engine.calibration is None else engine.calibration.groups["all"].value
    with open(out_path, "wb") as out:
        for verdict in sorted(report.verdicts, key=lambda v: -v.score):
            out.write(orjson.dumps(verdict.to_dict()) + b"\n")
    report.seconds = time.perf_counter() - started
    return report
