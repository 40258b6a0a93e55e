"""A log's exchanges oldest first, streamed: memory is one chunk of exchanges, never the whole log.

The detection engine reads in time order. An exported log already is in time order (the store exports
in insertion order, which is time order but for the moments replicas' writes interleave), so the log is
first checked in one cheap pass over its timestamps (the ``ts`` column alone for Parquet) and then
streamed. Out of order, it is sorted externally: chunks of ``chunk_rows`` exchanges are sorted in memory
and spilled to temporary files, which ``heapq.merge`` reads back together. The order is that of a stable
sort by time: ties keep their order in the file, exactly as ``sorted`` on the whole log would give.
"""

from __future__ import annotations

import heapq
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson

from distillshield.errors import InvalidRequest
from distillshield.records import BadLine, Exchange, parse_ts
from distillshield.records.parquet import is_parquet, open_parquet, read_log

CHUNK_ROWS = 200_000


def _timestamps(path: str | Path) -> Iterator[float]:
    """The readable timestamps of a log, in file order (unreadable rows are skipped: they are not scanned)."""
    if is_parquet(path):
        for batch in open_parquet(path).iter_batches(batch_size=100_000, columns=["ts"]):
            for text in batch.column(0).to_pylist():
                try:
                    yield parse_ts(text)
                except InvalidRequest:
                    continue
        return
    with open(path, "rb") as stream:
        for line in stream:
            try:
                yield parse_ts(orjson.loads(line).get("ts"))
            except (orjson.JSONDecodeError, InvalidRequest, AttributeError):
                continue


def is_time_ordered(path: str | Path) -> bool:
    previous = float("-inf")
    for epoch in _timestamps(path):
        if epoch < previous:
            return False
        previous = epoch
    return True


def in_time_order(path: str | Path, on_bad_line: Callable[[BadLine], None] | None = None, *,
                  spill_dir: str | Path | None = None, chunk_rows: int = CHUNK_ROWS) -> Iterator[Exchange]:
    """Every readable exchange of a JSONL or Parquet log, oldest first; unreadable rows go to ``on_bad_line``."""
    readable = _readable(path, on_bad_line)
    if is_time_ordered(path):
        yield from readable
    else:
        yield from _sorted_externally(readable, spill_dir, chunk_rows)


def _readable(path: str | Path, on_bad_line: Callable[[BadLine], None] | None) -> Iterator[Exchange]:
    for item in read_log(path):
        if isinstance(item, BadLine):
            if on_bad_line:
                on_bad_line(item)
        else:
            yield item


def _sorted_externally(exchanges: Iterator[Exchange], spill_dir, chunk_rows: int) -> Iterator[Exchange]:
    with tempfile.TemporaryDirectory(prefix="distillshield-sort-", dir=spill_dir) as folder:
        runs = []
        chunk: list[tuple[float, int, Exchange]] = []
        for index, exchange in enumerate(exchanges):
            chunk.append((exchange.epoch, index, exchange))
            if len(chunk) >= chunk_rows:
                runs.append(_spill(chunk, folder, len(runs)))
                chunk = []
        if chunk:
            runs.append(_spill(chunk, folder, len(runs)))
        streams = [open(run, "rb") for run in runs]
        try:
            for _, _, record in heapq.merge(*(map(_parse_spilled, stream) for stream in streams)):
                yield Exchange.from_dict(orjson.loads(record))
        finally:
            for stream in streams:
                stream.close()


def _spill(chunk: list[tuple[float, int, Exchange]], folder: str, number: int) -> str:
    chunk.sort(key=lambda item: (item[0], item[1]))
    path = os.path.join(folder, f"run-{number:05d}.jsonl")
    with open(path, "wb") as out:
        for epoch, index, exchange in chunk:
            out.write(b"%r\t%d\t" % (epoch, index) + exchange.to_json() + b"\n")
    return path


def _parse_spilled(line: bytes) -> tuple[float, int, bytes]:
    epoch, index, record = line.split(b"\t", 2)
    return float(epoch), int(index), record
