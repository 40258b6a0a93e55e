"""``distillshield scan``: a file of exchanges in, one verdict per account out."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from distillshield.detect.calibration import Calibration, GroupThreshold, calibrate
from distillshield.detect.embed import PromptEmbedder
from distillshield.detect.engine import DetectionEngine, Verdict
from distillshield.detect.feedback import read_feedback
from distillshield.detect.scoring import DetectorModel
from distillshield.errors import ConfigError
from distillshield.detect.ordering import in_time_order
from distillshield.records import BadLine, Exchange

if TYPE_CHECKING:
    from distillshield.detect.distributed import Cluster

CALIBRATIONS = ("population", "model")


@dataclass
class ScanReport:
    exchanges: int = 0
    bad_lines: list[BadLine] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    seconds: float = 0.0
    threshold: float = 0.0
    calibration: dict = field(default_factory=dict)
    phase_seconds: dict = field(default_factory=dict)   # the distributed scan's steps (distributed.py)

    @property
    def flagged(self) -> int:
        return sum(verdict.flagged for verdict in self.verdicts)


def read_in_time_order(path: str | Path, on_bad_line: Callable[[BadLine], None] | None = None) -> list[Exchange]:
    """Every readable exchange of a JSONL or Parquet file, oldest first, as a list (small logs: tests, the lab)."""
    return list(in_time_order(path, on_bad_line))


def scan(path: str | Path, out_path: str | Path, *, fpr: float = 1e-3, model: DetectorModel | None = None,
         model_path: str | Path | None = None, reference_path: str | Path | None = None,
         calibration: str = "population", feedback_path: str | Path | None = None,
         feedback: dict[str, str] | None = None, peer_groups: bool = False, use_embeddings: bool = True,
         on_bad_line: Callable[[BadLine], None] | None = None, cluster: Cluster | None = None,
         spill_dir: str | Path | None = None,
         on_progress: Callable[[int, int | None], None] | None = None) -> ScanReport:
    """Score every account of ``path`` (JSONL or Parquet, streamed: memory grows with accounts, not
    exchanges); thresholds from the scanned population (default), the operator's ``reference_path``
    (ordinary accounts only), or the model's shipped reference (``calibration="model"``). With ``cluster``
    the accounts are scanned on a Dask cluster, partitioned by account, with the same verdicts.
    ``on_progress(done, None)`` hears how many exchanges the one-process scan has read."""
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
    if cluster is not None:
        from distillshield.detect.distributed import distributed_engine

        if embedder is not None:
            raise ConfigError("the distributed scan does not compute the topic signal: pass --no-embeddings")
        engine = distributed_engine(path, model, cluster=cluster, spill_dir=spill_dir, on_bad_line=bad_line)
    else:
        engine = DetectionEngine(model, fpr=fpr, embedder=embedder, threshold=float("inf"))
        engine.observe_all(_reporting(in_time_order(path, bad_line, spill_dir=spill_dir), on_progress))
    engine.feedback = feedback
    if reference_path:
        reference = DetectionEngine(model, embedder=embedder, threshold=float("inf"))
        reference.observe_all(in_time_order(reference_path, spill_dir=spill_dir))
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
    report.exchanges = engine.seen
    report.phase_seconds = getattr(engine, "phase_seconds", {})
    report.threshold = found.groups["all"].value
    with open(out_path, "wb") as out:
        for verdict in sorted(report.verdicts, key=lambda v: -v.score):
            out.write(orjson.dumps(verdict.to_dict()) + b"\n")
    report.seconds = time.perf_counter() - started
    return report


def _reporting(exchanges: Iterable[Exchange], on_progress: Callable[[int, int | None], None] | None,
               every: int = 500) -> Iterator[Exchange]:
    """The exchanges, telling ``on_progress(done, None)`` every ``every`` of them and at the end (a streamed
    log's length is not known until it is read)."""
    done = 0
    for done, exchange in enumerate(exchanges, 1):
        yield exchange
        if on_progress and done % every == 0:
            on_progress(done, None)
    if on_progress:
        on_progress(done, done)
