"""``distillshield scan``: a file of exchanges in, one verdict per account out."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from distillshield.detect.embed import PromptEmbedder
from distillshield.detect.engine import DetectionEngine, Verdict
from distillshield.detect.scoring import DetectorModel
from distillshield.detect.training import benign_max_scores
from distillshield.records import BadLine, Exchange, read_exchanges


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


def calibrated_on(model: DetectorModel, reference: list[Exchange], embedder: PromptEmbedder | None,
                  description: str) -> DetectorModel:
    """The model with its thresholds drawn from ``reference``, traffic the operator knows to be ordinary."""
    accounts = {exchange.account for exchange in reference}
    scores = benign_max_scores(reference, model.scorer, accounts, embedder)
    return model.with_reference(scores, description)


def scan(path: str | Path, out_path: str | Path, *, fpr: float = 1e-3, model: DetectorModel | None = None,
         model_path: str | Path | None = None, reference_path: str | Path | None = None,
         use_embeddings: bool = True, on_bad_line: Callable[[BadLine], None] | None = None) -> ScanReport:
    report = ScanReport()
    started = time.perf_counter()

    def bad_line(item: BadLine) -> None:
        report.bad_lines.append(item)
        if on_bad_line:
            on_bad_line(item)

    model = model or DetectorModel.load(model_path)
    embedder = PromptEmbedder() if use_embeddings and model.uses_embeddings else None
    if reference_path:
        model = calibrated_on(model, read_in_time_order(reference_path), embedder, str(reference_path))
    exchanges = read_in_time_order(path, bad_line)
    engine = DetectionEngine(model, fpr=fpr, embedder=embedder)
    engine.observe_all(exchanges)
    report.verdicts = engine.verdicts()
    report.exchanges = len(exchanges)
    report.threshold = engine.threshold
    report.calibration = model.threshold(fpr).to_dict()
    with open(out_path, "wb") as out:
        for verdict in sorted(report.verdicts, key=lambda v: -v.score):
            out.write(orjson.dumps(verdict.to_dict()) + b"\n")
    report.seconds = time.perf_counter() - started
    return report
