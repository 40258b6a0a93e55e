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
from distillshield.records import BadLine, Exchange, read_exchanges


@dataclass
class ScanReport:
    exchanges: int = 0
    bad_lines: list[BadLine] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    seconds: float = 0.0
    threshold: float = 0.0

    @property
    def flagged(self) -> int:
        return sum(verdict.flagged for verdict in self.verdicts)


def read_in_time_order(path: str | Path, on_bad_line: Callable[[BadLine], None]) -> list[Exchange]:
    exchanges = []
    with open(path, "rb") as stream:
        for item in read_exchanges(stream):
            if isinstance(item, BadLine):
                on_bad_line(item)
            else:
                exchanges.append(item)
    exchanges.sort(key=lambda exchange: exchange.epoch)
    return exchanges


def scan(path: str | Path, out_path: str | Path, *, fpr: float = 1e-3, model: DetectorModel | None = None,
         use_embeddings: bool = True, on_bad_line: Callable[[BadLine], None] | None = None) -> ScanReport:
    report = ScanReport()
    started = time.perf_counter()

    def bad_line(item: BadLine) -> None:
        report.bad_lines.append(item)
        if on_bad_line:
            on_bad_line(item)

    exchanges = read_in_time_order(path, bad_line)
    engine = DetectionEngine(model or DetectorModel.load(), fpr=fpr,
                             embedder=PromptEmbedder() if use_embeddings else None)
    engine.observe_all(exchanges)
    report.verdicts = engine.verdicts()
    report.exchanges = len(exchanges)
    report.threshold = engine.threshold
    with open(out_path, "wb") as out:
        for verdict in sorted(report.verdicts, key=lambda v: -v.score):
            out.write(orjson.dumps(verdict.to_dict()) + b"\n")
    report.seconds = time.perf_counter() - started
    return report
