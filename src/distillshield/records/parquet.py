"""The exchange record as Parquet (pyarrow): one row per exchange, read and written in row groups.

Columns (all nullable; null means the field is absent):

- ``id``, ``ts``, ``account``, ``endpoint``, ``key_id``, ``ip``, ``user_agent``: strings;
- ``status``: int64; ``latency_ms``: float64;
- ``request``, ``response``, ``error``: the nested objects as JSON text (so they round-trip exactly);
- ``extra``: a JSON object of every other field, and of a known field whose value does not fit its
  column's type (an integer ``latency_ms``, a string ``status``), so that nothing is lost or altered.

A row that cannot be read back as an exchange is reported as a ``BadLine`` with its 1-based row number.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson

from distillshield.errors import InvalidRequest
from distillshield.records.exchange import BadLine, Exchange, read_exchanges

_STRINGS = ("id", "ts", "account", "endpoint", "key_id", "ip", "user_agent")
_JSON_TEXT = ("request", "response", "error")
COLUMNS = (*_STRINGS, "status", "latency_ms", *_JSON_TEXT, "extra")
_MAGIC = b"PAR1"
ROWS_PER_GROUP = 50_000


def schema():
    import pyarrow as pa

    types = {**{name: pa.string() for name in _STRINGS}, "status": pa.int64(), "latency_ms": pa.float64(),
             **{name: pa.string() for name in _JSON_TEXT}, "extra": pa.string()}
    return pa.schema([(name, types[name]) for name in COLUMNS])


def is_parquet(path: str | Path) -> bool:
    """By suffix, or by the format's magic bytes for a file named otherwise."""
    if str(path).endswith(".parquet"):
        return True
    try:
        with open(path, "rb") as stream:
            return stream.read(4) == _MAGIC
    except OSError:
        return False


def _fits(name: str, value) -> bool:
    if name in _STRINGS:
        return isinstance(value, str)
    if name == "status":
        return isinstance(value, int) and not isinstance(value, bool) and -(2 ** 63) <= value < 2 ** 63
    return isinstance(value, float)   # latency_ms: an integer stays an integer, in extra


def to_row(record: dict) -> dict:
    """One exchange record (the JSON object) as a row of the columns above."""
    row = dict.fromkeys(COLUMNS)
    extra = {}
    for name, value in record.items():
        if name in _JSON_TEXT:
            row[name] = orjson.dumps(value).decode()
        elif name in COLUMNS and name != "extra" and _fits(name, value):
            row[name] = value
        else:
            extra[name] = value
    row["extra"] = orjson.dumps(extra).decode() if extra else None
    return row


def from_row(row: dict) -> dict:
    """The exchange record a row holds (the inverse of ``to_row``); ``ValueError`` if its JSON text is not."""
    record = {}
    for name in COLUMNS[:-1]:
        value = row.get(name)
        if value is None:
            continue
        record[name] = orjson.loads(value) if name in _JSON_TEXT else value
    if row.get("extra"):
        extra = orjson.loads(row["extra"])
        if not isinstance(extra, dict):
            raise ValueError("extra must hold a JSON object")
        record.update(extra)
    return record


def write_parquet(path: str | Path, records: Iterable[dict], *, mode: int = 0o600,
                  rows_per_group: int = ROWS_PER_GROUP) -> int:
    """Write exchange records (JSON objects) to ``path``, a row group at a time; returns the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table_schema = schema()
    count = 0
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as sink, \
            pq.ParquetWriter(sink, table_schema, compression="zstd") as writer:
        batch: list[dict] = []
        for record in records:
            batch.append(to_row(record))
            if len(batch) >= rows_per_group:
                writer.write_table(pa.Table.from_pylist(batch, schema=table_schema))
                count += len(batch)
                batch = []
        if batch:
            writer.write_table(pa.Table.from_pylist(batch, schema=table_schema))
            count += len(batch)
    return count


def open_parquet(path: str | Path):
    """The ``pyarrow.parquet.ParquetFile``, checked to hold the exchange's required columns."""
    import pyarrow.parquet as pq

    try:
        source = pq.ParquetFile(path)
    except Exception as exc:   # pyarrow raises ArrowInvalid, OSError and others for a file it cannot open
        raise InvalidRequest(f"{path} is not a readable Parquet file: {exc}") from None
    missing = [name for name in ("id", "ts", "account", "endpoint", "request") if name not in source.schema_arrow.names]
    if missing:
        raise InvalidRequest(f"{path} lacks the exchange column(s) {', '.join(missing)} (see docs/deploy.md)")
    return source


def read_parquet(path: str | Path, *, batch_rows: int = 10_000) -> Iterator[Exchange | BadLine]:
    """Each row's exchange, or a ``BadLine`` naming its row and what is wrong; memory is one batch of rows."""
    source = open_parquet(path)
    present = [name for name in COLUMNS if name in source.schema_arrow.names]
    row_number = 0
    for batch in source.iter_batches(batch_size=batch_rows, columns=present):
        columns = batch.to_pydict()
        for values in zip(*(columns[name] for name in present)):
            row_number += 1
            try:
                yield Exchange.from_dict(from_row(dict(zip(present, values))))
            except (orjson.JSONDecodeError, ValueError) as exc:
                yield BadLine(row_number, f"not valid JSON in a JSON column ({exc})")
            except InvalidRequest as exc:
                yield BadLine(row_number, exc.message)


def read_log(path: str | Path) -> Iterator[Exchange | BadLine]:
    """The exchanges of a log file, JSONL or Parquet (by suffix or content), in file order."""
    if is_parquet(path):
        yield from read_parquet(path)
        return
    with open(path, "rb") as stream:
        yield from read_exchanges(stream)
