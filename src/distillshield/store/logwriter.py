"""The traffic log's writer: records gathered on the event loop, written by one thread in batched transactions.

The event loop only appends a record to a list; every ``log_flush_ms`` (or as
soon as ``log_batch_size`` records wait) the list is handed to the writer
thread as one batch, so the thread wakes once per batch, not once per request,
and does not compete with the loop for the interpreter on every request.

Nothing is dropped. The hand-over queue is bounded; when it is full, batches
wait in a list on the event loop (back-pressure, counted) and the writer thread
asks the loop to hand them over as it makes room, so waiting never holds a
thread of the pool that key look-ups use. Every record is encoded so that
nothing a client sent can fail it (``Exchange.to_json_kept``), the thread
survives any error in a batch, and a thread that died anyway is started again
on the next hand-over. When the database fails, the batch is retried, then
written row by row, and what still fails is appended to a JSONL spill file
(mode 0600: it holds prompts) beside the store so an operator can re-import it.

``on_written`` (optional) receives each batch's exchange records, as the JSON
bytes just written, once they are written (or spilled), on the writer thread:
the live detector's feed. It must be quick and must not raise; an error in it
is logged and never touches the log.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from distillshield.records import Exchange, format_ts, new_exchange_id, parse_ts
from distillshield.store.spool import Spool
from distillshield.store.store import Store

log = logging.getLogger("distillshield.log")

_STOP = object()
_RETRIES = 5
_RETENTION_EVERY_S = 3600.0


class Loggable(Protocol):
    def to_exchange(self) -> Exchange: ...


def exchange_row(exchange: Exchange, record: bytes | None = None) -> dict:
    """The store's row for an exchange (``record``: its JSON, when already encoded). The indexed columns
    are cut to their sizes; the record keeps the whole values."""
    return {"id": exchange.id, "ts": parse_ts(exchange.ts), "account": exchange.account[:128],
            "key_id": exchange.key_id[:32] if exchange.key_id else None, "endpoint": exchange.endpoint[:256],
            "status": exchange.status,
            "record": (record if record is not None else exchange.to_json_kept()).decode()}


def encode(item: Loggable) -> tuple[Exchange, bytes]:
    """A record and its JSON, whatever went wrong in building it (then with a note, never lost)."""
    try:
        exchange = item.to_exchange()
    except Exception:
        log.exception("could not build an exchange record; keeping a placeholder")
        now = time.time()
        exchange = Exchange(id=getattr(item, "id", None) or new_exchange_id(now), ts=format_ts(now),
                            account="unknown", endpoint="unknown", request={},
                            extra={"log_error": "the record could not be built"})
    return exchange, exchange.to_json_kept()


class LogWriter:
    def __init__(self, store: Store, *, queue_size: int = 10000, batch_size: int = 500,
                 flush_ms: float = 50, retention_days: float = 0, spill_path: str | Path | None = None,
                 on_written: Callable[[list[bytes]], None] | None = None, spool: Spool | None = None):
        self.store = store
        self.spool = spool
        self.on_written = on_written
        self.batch_size = max(1, batch_size)
        self.flush_seconds = flush_ms / 1000
        self.retention_days = retention_days
        self.spill_path = Path(spill_path) if spill_path else None
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, queue_size // self.batch_size))
        self._thread: threading.Thread | None = None
        self._done = threading.Condition()
        self._gathering: list = []
        self._flush_timer: asyncio.TimerHandle | None = None
        self._overflow: collections.deque[list] = collections.deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_retention = 0.0
        self.submitted = 0
        self.written = 0
        self.spilled = 0
        self.waited_for_room = 0
        self.restarts = 0
        self.backpressure_waits = 0

    # event-loop side -------------------------------------------------------------------------------
    def start(self) -> None:
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self._thread = threading.Thread(target=self._run, name="distillshield-log-writer", daemon=True)
        self._thread.start()

    def submit(self, item: Loggable) -> None:
        """Queue a record for writing (never blocks, never drops)."""
        self.submitted += 1
        self._gathering.append(item)
        if len(self._gathering) >= self.batch_size:
            self._hand_over()
        elif self._flush_timer is None:
            self._flush_timer = asyncio.get_running_loop().call_later(self.flush_seconds, self._hand_over)

    def _hand_over(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        self._supervise()
        if self._gathering:
            batch, self._gathering = self._gathering, []
            if self._overflow:
                self._overflow.append(batch)
                self.waited_for_room += 1
            else:
                try:
                    self._queue.put_nowait(batch)
                except queue.Full:
                    self._overflow.append(batch)
                    self.waited_for_room += 1
        self._refill()

    def _refill(self) -> None:
        """Move waiting batches into the writer's queue while it has room (on the event loop)."""
        while self._overflow:
            try:
                self._queue.put_nowait(self._overflow[0])
            except queue.Full:
                return
            self._overflow.popleft()

    def running(self) -> bool:
        """Whether the writer thread runs (started again first if it had stopped)."""
        self._supervise()
        return self._thread is not None and self._thread.is_alive()

    def _supervise(self) -> None:
        if self._thread is not None and not self._thread.is_alive():
            self.restarts += 1
            log.error("the log writer thread had stopped; starting it again (restart %d)", self.restarts)
            self._thread = threading.Thread(target=self._run, name="distillshield-log-writer", daemon=True)
            self._thread.start()

    async def drain_waiting(self) -> None:
        """Hand every gathered record to the writer thread (call before ``close``)."""
        self._hand_over()
        while self._overflow:
            await asyncio.sleep(0.005)
            self._hand_over()

    @property
    def backlogged(self) -> bool:
        """More batches wait for room than the queue holds: new requests should wait (``wait_for_room``)."""
        return len(self._overflow) > self._queue.maxsize

    async def wait_for_room(self, timeout: float = 30.0) -> None:
        """Wait until the backlog is back under the queue's size (or ``timeout``: then serve on, uncapped)."""
        deadline = time.monotonic() + timeout
        while self.backlogged and time.monotonic() < deadline:
            self.backpressure_waits += 1
            await asyncio.sleep(0.005)
            self._hand_over()

    @property
    def waiting_batches(self) -> int:
        """Batches waiting for room in the writer's queue."""
        return len(self._overflow)

    @property
    def depth(self) -> int:
        """Records submitted and not yet written."""
        return self.submitted - self.written - self.spilled

    def wait_written(self, timeout: float = 30.0) -> bool:
        """Block until every record submitted so far is written (or spilled)."""
        target = self.submitted
        deadline = time.monotonic() + timeout
        with self._done:
            while self.written + self.spilled < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._done.wait(remaining)
        return True

    def close(self) -> None:
        """Write everything handed over, then stop the thread."""
        if self._thread is None:
            return
        self._supervise()
        self._queue.put(_STOP)
        self._thread.join()
        self._thread = None

    # writer thread ---------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is _STOP:
                return
            if self._overflow and self._loop is not None:
                try:
                    self._loop.call_soon_threadsafe(self._refill)
                except RuntimeError:        # the loop has closed; close() hands over the rest
                    pass
            try:
                self._write(batch)
                self._apply_retention()
            except Exception:  # a bug here must not stop the log: the batch is spilled, the thread goes on
                log.exception("the log writer failed on a batch")

    def _write(self, batch: list) -> None:
        encoded = [encode(item) for item in batch]
        records = [record for _, record in encoded]
        rows = [exchange_row(exchange, record) for exchange, record in encoded]
        if self._insert(rows, attempts=_RETRIES):
            failed = []
        else:
            failed = [row for row in rows if not self._insert([row], attempts=1)]
            if failed:
                self._spill(failed)
        if self.spool is not None:
            self.spool.release(getattr(item, "spool_segment", None) for item in batch)
        self._pass_on(records)
        self._count(written=len(rows) - len(failed), spilled=len(failed))

    def _insert(self, rows: list[dict], *, attempts: int) -> bool:
        for attempt in range(attempts):
            try:
                self.store.insert_exchanges(rows)
                return True
            except Exception as exc:  # the database is outside our control; never lose the batch
                log.warning("writing %d exchange records failed (attempt %d): %s", len(rows), attempt + 1, exc)
                if attempt + 1 < attempts:
                    time.sleep(min(2.0, 0.05 * 2 ** attempt))
        return False

    def _pass_on(self, records: list[bytes]) -> None:
        if self.on_written is None:
            return
        try:
            self.on_written(records)
        except Exception:  # a reader's bug must never cost a record
            log.exception("the on_written hook failed for %d exchange records", len(records))

    def _spill(self, rows: list[dict]) -> None:
        path = self.spill_path or Path("distillshield-unwritten.jsonl")
        with open(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "a", encoding="utf-8") as handle:
            for row in rows:
                handle.write(row["record"] + "\n")
        log.error("spilled %d exchange records to %s", len(rows), path)

    def _count(self, *, written: int = 0, spilled: int = 0) -> None:
        with self._done:
            self.written += written
            self.spilled += spilled
            self._done.notify_all()

    def _apply_retention(self) -> None:
        now = time.time()
        if self.retention_days <= 0 or now - self._last_retention < _RETENTION_EVERY_S:
            return
        self._last_retention = now
        try:
            self.store.delete_exchanges_before(now - self.retention_days * 86400)
        except Exception as exc:
            log.warning("retention clean-up failed: %s", exc)
