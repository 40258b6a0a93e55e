"""``distillshield scan``: a file of exchanges in, one verdict per account out."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from distillshield.detect.calibration import Calibration, GroupThreshold, calibrate
from distillshield.detect.embed import PromptEmbedder
from distillshield.detect.engine import DetectionEngine, Verdict
from distillshield.detect.feedback import read_feedback
from distillshield.detect.scoring import DetectorModel
from distillshield.errors import ConfigError
from distillshield.records import BadLine, Exchange, read_exchanges

CALIBRATIONS = ("population", "model")


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


def scan(path: str | Path, out_path: str | Path, *, fpr: float = 1e-3, model: DetectorModel | None = None,
         model_path: str | Path | None = None, reference_path: str | Path | None = None,
         calibration: str = "population", feedback_path: str | Path | None = None,
         feedback: dict[str, str] | None = None, peer_groups: bool = False, use_embeddings: bool = True,
         on_bad_line: Callable[[BadLine], None] | None = None,
         on_progress: Callable[[int, int], None] | None = None) -> ScanReport:
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
    feedback = {**(feedback or {}), **(read_feedback(feedback_path) if feedback_path else {})}
    exchanges = read_in_time_order(path, bad_line)
    engine = DetectionEngine(model, fpr=fpr, embedder=embedder, threshold=float("inf"))
    engine.feedback = feedback
    engine.observe_all(_reporting(exchanges, on_progress))
    if reference_path:
        reference = DetectionEngine(model, embedder=embedder, threshold=float("inf"))
        reference.observe_all(read_in_time_order(reference_path))
        reference.link()
        found = calibrate(reference.population(), fpr, source=f"the reference accounts of {reference_path}",
                          peer_groups=peer_groups, clean=True)
    elif calibration == "model":
        shipped = model.threshold(fpr)
        found = Calibration(fpr=fpr, source="the reference shipped with the model", groups={"all": GroupThreshold(
            "all", shipped.value_, shipped.reference_accounts_, shipped.method_)})
    else:
        engine.link()
        found = calibrate(engine.population(), fpr, source=f"the scanned accounts of {path}", feedback=feedback,
                          peer_groups=peer_groups)
    engine.apply_calibration(found)
    report.calibration = found.to_dict()
    report.verdicts = engine.verdicts()
    report.exchanges = len(exchanges)
    report.threshold = found.groups["all"].value
    with open(out_path, "wb") as out:
        for verdict in sorted(report.verdicts, key=lambda v: -v.score):
            out.write(orjson.dumps(verdict.to_dict()) + b"\n")
    report.seconds = time.perf_counter() - started
    return report


def _reporting(exchanges: list[Exchange], on_progress: Callable[[int, int], None] | None, every: int = 500):
    """The exchanges, telling ``on_progress(done, total)`` every ``every`` of them and at the end."""
    for done, exchange in enumerate(exchanges, 1):
        yield exchange
        if on_progress and (done % every == 0 or done == len(exchanges)):
            on_progress(done, len(exchanges))
