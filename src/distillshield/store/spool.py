"""The spool: each request's record on the replica's own disk before its answer's last byte leaves.

The traffic log is written in batches, off the hot path, so a replica killed with ``kill -9`` (the OOM
killer, a lost node) would lose the records still in memory though their clients have their answers.
The spool closes that window: the gateway appends each finished request as one frame to a local
append-only file before it sends the answer's end, and the log writer releases the frames once the store
holds them. On start, frames never released are replayed into the store; the store ignores an exchange
id it already has, so a replay is idempotent.

Frames are ``length (4 bytes) | crc32 (4 bytes) | payload``; a frame cut short by a crash, which no client
was answered for, is skipped on replay. Segments rotate every ``segment_bytes`` or ``segment_seconds``
and are deleted once every frame in them was released. ``sync = "write"`` survives the death of the
process (the bytes are in the kernel's page cache); ``"fsync"`` also survives the machine's, at the cost
of one fsync per request (``bench/scale.py`` measures both).
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

log = logging.getLogger("distillshield.log")

_HEADER = struct.Struct(">II")
_SUFFIX = ".spool"


class Spool:
    def __init__(self, folder: str | Path, *, sync: str = "write", segment_bytes: int = 8 << 20,
                 segment_seconds: float = 5.0):
        if sync not in ("write", "fsync"):
            raise ValueError(f"sync must be write or fsync, got {sync!r}")
        self.folder = Path(folder)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.sync = sync
        self.segment_bytes = segment_bytes
        self.segment_seconds = segment_seconds
        self._lock = threading.Lock()
        self._pending: dict[int, int] = {}        # segment -> frames not yet released
        self._closed: set[int] = set()
        self._fd: int | None = None
        self._segment = 0
        self._opened_at = 0.0
        self._size = 0
        self.appended = 0
        self.replayed = 0

    # the hot path ----------------------------------------------------------------------------------
    def append(self, payload: bytes) -> int:
        """Write one frame; returns the segment to ``release`` it from once the store holds it."""
        frame = _HEADER.pack(len(payload), zlib.crc32(payload)) + payload
        with self._lock:
            if self._fd is None or self._size >= self.segment_bytes or \
                    time.monotonic() - self._opened_at >= self.segment_seconds:
                self._rotate()
            os.write(self._fd, frame)
            if self.sync == "fsync":
                os.fsync(self._fd)
            self._size += len(frame)
            self._pending[self._segment] = self._pending.get(self._segment, 0) + 1
            self.appended += 1
            return self._segment

    def _rotate(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._closed.add(self._segment)
            self._drop_if_done(self._segment)
        self._segment = max(self._segment + 1, time.time_ns())
        path = self._path(self._segment)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._opened_at, self._size = time.monotonic(), 0

    # the log writer's thread ---------------------------------------------------------------------------
    def release(self, segments: Iterable[int | None]) -> None:
        """The store holds these frames' records (one segment per frame, None for records never spooled)."""
        with self._lock:
            for segment in segments:
                if segment is None or segment not in self._pending:
                    continue
                self._pending[segment] -= 1
                self._drop_if_done(segment)

    def _drop_if_done(self, segment: int) -> None:
        if self._pending.get(segment, 0) <= 0 and segment in self._closed:
            self._pending.pop(segment, None)
            self._closed.discard(segment)
            try:
                self._path(segment).unlink()
            except FileNotFoundError:
                pass

    # start-up ------------------------------------------------------------------------------------------
    def take_over(self) -> Iterator[tuple[int, bytes]]:
        """The frames a previous run left unreleased, with the segment each must be released from.
        Call once, before the first ``append``."""
        for path in sorted(self.folder.glob("*" + _SUFFIX)):
            segment = int(path.stem)
            frames = list(_read_frames(path))
            with self._lock:
                self._closed.add(segment)
                self._pending[segment] = len(frames)
                self._segment = max(self._segment, segment)
                self._drop_if_done(segment)
            for payload in frames:
                self.replayed += 1
                yield segment, payload

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
                self._closed.add(self._segment)
                self._drop_if_done(self._segment)

    @property
    def unreleased(self) -> int:
        with self._lock:
            return sum(self._pending.values())

    def _path(self, segment: int) -> Path:
        return self.folder / f"{segment:020d}{_SUFFIX}"


def _read_frames(path: Path) -> Iterator[bytes]:
    data = path.read_bytes()
    position = 0
    while position + _HEADER.size <= len(data):
        length, checksum = _HEADER.unpack_from(data, position)
        payload = data[position + _HEADER.size: position + _HEADER.size + length]
        if len(payload) < length or zlib.crc32(payload) != checksum:
            log.warning("spool %s: a frame cut short at byte %d (a crash mid-write); the rest is skipped",
                        path.name, position)
            return
        yield payload
        position += _HEADER.size + length
