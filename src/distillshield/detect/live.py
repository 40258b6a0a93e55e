"""Detection inside the gateway: the engine fed from the traffic log, on its own thread, off the hot path.

The log writer hands each written batch of exchanges to ``feed`` (a
non-blocking put on a bounded queue: when detection falls behind, the batch is
dropped *for detection only* and counted; the traffic log itself never drops).
The detector thread observes the batch, scores the accounts that reached a
checkpoint, and publishes each changed account's ``AccountRisk`` into the plain
dict ``risk``, which the gateway's hot path reads with one look-up.

An account's level is the most severe action whose score threshold its best
score (or its cluster's) has reached; thresholds come from the detector
model's benign reference at the false-positive rate the operator chose for
each action. The best score only grows, so a live level only rises; operators
lower it with an override.

The detector thread shares the interpreter with the event loop. Left alone,
Python switches threads only every 5 ms, so a busy detector would add up to
that to a request's latency; it therefore hands the interpreter back after
each exchange once it has held it for half a millisecond.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from distillshield.detect.embed import PromptEmbedder
from distillshield.detect.engine import DetectionEngine
from distillshield.detect.scoring import DetectorModel
from distillshield.records import Exchange

log = logging.getLogger("distillshield.detect")

_STOP = object()
_HOLD_SECONDS = 0.0005


@dataclass(frozen=True, slots=True)
class AccountRisk:
    account: str
    score: float
    level: str                   # "none" or one of the levels given to the detector
    threshold: float | None      # the threshold of that level (None for "none")
    cluster: str | None
    reasons: tuple
    flagged_after: int | None    # requests seen when the account first reached the lowest level
    requests: int

    def as_dict(self) -> dict:
        return {"account": self.account, "score": round(self.score, 4), "level": self.level,
                "threshold": self.threshold, "cluster": self.cluster, "reasons": list(self.reasons),
                "flagged_after": self.flagged_after, "requests": self.requests}


LevelChange = Callable[[str, AccountRisk], None]   # (old level, new risk)


class LiveDetector:
    """Owns a ``DetectionEngine`` and the thread that feeds it.

    ``levels`` are (name, score threshold) pairs, mildest first; a level whose
    threshold is None is never reached automatically. ``on_change`` is called
    on the detector thread whenever an account's level changes.
    """

    def __init__(self, model: DetectorModel, levels: list[tuple[str, float | None]], *,
                 embedder: PromptEmbedder | None = None, queue_size: int = 100_000,
                 on_change: LevelChange | None = None, link_every: int = 2000):
        self.model = model
        self.levels = [(name, threshold) for name, threshold in levels if threshold is not None]
        lowest = min((threshold for _, threshold in self.levels), default=float("inf"))
        self.engine = DetectionEngine(model, embedder=embedder, threshold=lowest, link_every=link_every)
        self.on_change = on_change
        self.queue_size = max(1, queue_size)
        self.risk: dict[str, AccountRisk] = {}
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._pending = 0                  # exchanges queued and not yet observed
        self._pending_lock = threading.Lock()
        self._oldest_wait: deque[float] = deque()  # hand-over times of the batches waiting, oldest first
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        self._published: dict[str, float] = {}
        self.fed = 0
        self.processed = 0
        self.dropped = 0
        self.replayed = 0
        self.failures = 0
        self.last_batch_seconds = 0.0
        self._held_since = 0.0

    # any thread -------------------------------------------------------------------------------------
    def feed(self, exchanges: list[Exchange]) -> None:
        """Queue a batch for detection; never blocks. A batch that does not fit is dropped and counted."""
        with self._pending_lock:
            if self._pending + len(exchanges) > self.queue_size:
                self.dropped += len(exchanges)
                return
            self._pending += len(exchanges)
            self.fed += len(exchanges)
            self._oldest_wait.append(time.monotonic())
        self._queue.put(exchanges)

    @property
    def depth(self) -> int:
        """Exchanges waiting for the detector."""
        return self._pending

    @property
    def lag_seconds(self) -> float:
        """How long the oldest batch still waiting has waited (0 when the detector is idle)."""
        with self._pending_lock:
            return time.monotonic() - self._oldest_wait[0] if self._oldest_wait else 0.0

    def level_of(self, account: str) -> str:
        risk = self.risk.get(account)
        return risk.level if risk is not None else "none"

    def start(self, replay: Callable[[], Iterable[Exchange]] | None = None) -> None:
        """Start the detector thread; ``replay`` (optional) yields past exchanges to warm the engine first."""
        self._thread = threading.Thread(target=self._run, args=(replay,), name="distillshield-detector",
                                        daemon=True)
        self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every batch fed so far has been observed and published (for tests and tools)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    # detector thread --------------------------------------------------------------------------------
    def _run(self, replay: Callable[[], Iterable[Exchange]] | None) -> None:
        if replay is not None:
            self._replay(replay)
        while True:
            batch = self._queue.get()
            if batch is _STOP:
                return
            started = time.perf_counter()
            try:
                self.process(batch)
            except Exception:  # detection must never stop for one bad batch
                self.failures += 1
                log.exception("live detection failed on a batch of %d exchanges", len(batch))
            self.last_batch_seconds = time.perf_counter() - started
            with self._pending_lock:
                self._pending -= len(batch)
                self._oldest_wait.popleft()
            with self._idle:
                self._idle.notify_all()

    def _replay(self, replay: Callable[[], Iterable[Exchange]]) -> None:
        started = time.monotonic()
        chunk: list[Exchange] = []
        try:
            for exchange in replay():
                chunk.append(exchange)
                if len(chunk) >= 1000:
                    self.process(chunk, replaying=True)
                    chunk = []
            if chunk:
                self.process(chunk, replaying=True)
        except Exception:
            log.exception("warming live detection from the store failed after %d exchanges; going on live",
                          self.replayed)
        log.info("live detection warmed with %d past exchanges in %.1f s; %d accounts at a level",
                 self.replayed, time.monotonic() - started,
                 sum(1 for risk in self.risk.values() if risk.level != "none"))

    def process(self, exchanges: Iterable[Exchange], *, replaying: bool = False) -> None:
        """Observe exchanges, score the accounts due, publish the risks that changed (detector thread only)."""
        engine = self.engine
        count = 0
        self._held_since = time.perf_counter()
        touched: set[str] = set()
        links_before = engine.seen // engine.link_every
        for exchange in exchanges:
            count += 1
            if exchange.account == "anonymous" or not exchange.endpoint.startswith("/v1/"):
                continue
            engine.observe(exchange)
            touched.add(exchange.account)
            if time.perf_counter() - self._held_since > _HOLD_SECONDS:
                time.sleep(0)   # let the event loop take the interpreter (see the module doc)
                self._held_since = time.perf_counter()
        engine.score_due()
        if engine.seen // engine.link_every != links_before:   # a re-link may have raised any cluster member
            touched.update(engine.cluster_of)
        if replaying:
            self.replayed += count
        else:
            self.processed += count
        self._publish(touched, announce=not replaying)

    def _publish(self, accounts: Iterable[str], *, announce: bool) -> None:
        """Publish the risk of accounts whose best score moved; report level changes (not while replaying,
        so a restart does not repeat the events and alerts of the traffic it re-reads)."""
        engine = self.engine
        for account in accounts:
            track = engine.tracks[account]
            score = track.best_score
            if score == float("-inf") or self._published.get(account) == score:
                continue
            self._published[account] = score
            old = self.risk.get(account)
            level, threshold = self._level_for(score)
            verdict = engine.verdict(account)
            risk = AccountRisk(account=account, score=score, level=level, threshold=threshold,
                               cluster=engine.cluster_of.get(account), reasons=tuple(verdict.reasons),
                               flagged_after=track.flagged_after, requests=engine.states[account].count)
            self.risk[account] = risk
            old_level = old.level if old is not None else "none"
            if announce and level != old_level and self.on_change is not None:
                try:
                    self.on_change(old_level, risk)
                except Exception:
                    log.exception("recording the level change of account %s failed", account)

    def _level_for(self, score: float) -> tuple[str, float | None]:
        level, reached = "none", None
        for name, threshold in self.levels:
            if score >= threshold:
                level, reached = name, threshold
        return level, reached


def level_thresholds(model: DetectorModel, fprs: list[tuple[str, float]]) -> list[tuple[str, float | None]]:
    """(level, false-positive rate) → (level, score threshold); an rate of 0 means never automatic."""
    return [(name, model.threshold(fpr).value_ if fpr > 0 else None) for name, fpr in fprs]
