"""Detection inside the gateway: the engine in a process of its own, fed from the traffic log, off the hot path.

Why a process: a detector thread shares the interpreter with the event loop. Even handing it back every
half millisecond, it cost requests a p99 of 2-3 ms more, with spikes of ~65 ms whenever the engine
re-linked its clusters. In its own process (``multiprocessing``, ``spawn`` context: a clean interpreter,
never a fork of the gateway's threads) the engine takes nothing from the event loop but a core.

The gateway's side (``LiveDetector``):
  ``feed``      on the log writer's thread, with each written batch's exchange records (JSON bytes): counts
                the batch and puts it on a local queue; never blocks. When more than ``queue_size``
                exchanges, or ``queue_bytes`` bytes of them, wait, the batch is dropped *for detection only*
                and counted (the log keeps it).
  sender        a thread that sends each batch as one message over a pipe; it alone waits when the
                detector's process is behind.
  receiver      a thread that applies the process's updates: the ``AccountRisk`` of every account whose
                best score moved, written into the plain dict ``risk`` that the hot path reads with one
                look-up; a level change calls ``on_change`` (policy events, alerts) here, in the gateway.
The detector's process (``_serve``): warms up from the store itself (``Replay``: the last hours before
start-up, read straight from the store, silently: no events or alerts for what it re-reads), then decodes,
observes and scores each batch and sends back what changed. It stops after draining what was sent when
told to, and at once when its pipe reaches EOF (the gateway is gone). If it dies, the receiver logs it,
counts it and turns detection off (``running`` False, pending input counted as dropped); requests are
served as before, with the levels already reached and operators' overrides.

An account's level is the most severe action whose score threshold its best score (or its cluster's) has
reached; thresholds come from the detector model's benign reference at the false-positive rate the
operator chose for each action. The best score only grows, so a live level only rises; operators lower it
with an override.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import orjson

from distillshield.detect.calibration import BENIGN, Calibration, accounts_needed, calibrate, peer_traits
from distillshield.detect.embed import PromptEmbedder
from distillshield.detect.engine import DetectionEngine
from distillshield.detect.feedback import feedback_from_accounts
from distillshield.detect.scoring import DetectorModel
from distillshield.errors import ConfigError, DistillShieldError
from distillshield.records import Exchange
from distillshield.store import Store

log = logging.getLogger("distillshield.detect")

_STOP = object()
_REPLAY_CHUNK = 1000


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
    calibration: dict | None = None   # the population the lowest level's threshold came from

    def as_dict(self) -> dict:
        return {"account": self.account, "score": round(self.score, 4), "level": self.level,
                "threshold": self.threshold, "cluster": self.cluster, "reasons": list(self.reasons),
                "flagged_after": self.flagged_after, "requests": self.requests, "calibration": self.calibration}


@dataclass(frozen=True)
class Replay:
    """What the detector's process warms up with: the store's exchanges from ``since`` to before ``until``."""
    store_url: str
    since: float
    until: float


LevelChange = Callable[[str, AccountRisk], None]   # (old level, new risk)


Feedback = Callable[[], dict]   # () -> {account: "benign" | "campaign"}: the operator's word, read when recalibrating


class RiskScorer:
    """The engine and the rule that turns its scores into risks to publish (runs where detection runs).

    With ``fprs`` (level, false-positive rate), each level's threshold is drawn from the accounts the
    engine has seen (the store's history it warmed with, then live traffic), re-drawn every
    ``recalibrate_every`` exchanges, exactly as ``scan`` draws it from the accounts it reads; the operator's
    word (``feedback``) counts as in ``scan``. Until the accounts seen support a level's rate, that level
    keeps the threshold it was given (the model's shipped reference), and says so.
    """

    def __init__(self, model: DetectorModel, levels: list[tuple[str, float]], *,
                 embedder: PromptEmbedder | None = None, link_every: int = 2000,
                 fprs: list[tuple[str, float]] | None = None, feedback: Feedback | None = None,
                 recalibrate_every: int | None = None, peer_groups: bool = False):
        self.levels = levels
        self.fprs = [(name, fpr) for name, fpr in (fprs or []) if fpr > 0]
        self.feedback = feedback
        self.peer_groups = peer_groups
        self.recalibrate_every = recalibrate_every or link_every
        lowest = min((threshold for _, threshold in levels), default=float("inf"))
        self.engine = DetectionEngine(model, embedder=embedder, threshold=lowest, link_every=link_every)
        self.calibrations: dict[str, Calibration] = {}
        self._fallback = {"source": "the reference shipped with the model", "group": "all",
                          "n_accounts": len(model.benign_max_scores)}
        self._published: dict[str, tuple[float, str]] = {}
        self._accounts_for_first = min((accounts_needed(fpr) for _, fpr in self.fprs), default=0)

    def process(self, exchanges: Iterable[Exchange]) -> tuple[int, list[AccountRisk]]:
        """Observe exchanges, score the accounts due; returns (exchanges seen, risks that changed)."""
        engine = self.engine
        count = 0
        touched: set[str] = set()
        links_before = engine.seen // engine.link_every
        calibrations_before = engine.seen // self.recalibrate_every
        for exchange in exchanges:
            count += 1
            if exchange.account == "anonymous" or not exchange.endpoint.startswith("/v1/"):
                continue
            engine.observe(exchange)
            touched.add(exchange.account)
        engine.score_due()
        if engine.seen // engine.link_every != links_before:   # a re-link may have raised any cluster member
            touched.update(engine.cluster_of)
        due = engine.seen // self.recalibrate_every != calibrations_before
        first = not self.calibrations and len(engine.states) >= self._accounts_for_first
        if self.fprs and (due or first):
            if self.recalibrate():
                touched.update(engine.states)
            elif first:
                self._accounts_for_first = len(engine.states) * 2   # not yet supported: try again with more
        return count, self._changed(touched)

    def recalibrate(self) -> bool:
        """Draw each level's threshold from the accounts seen; True when any level could be drawn."""
        engine = self.engine
        engine.link()
        engine.feedback = self.feedback() if self.feedback is not None else {}
        population = engine.population()
        drawn = {}
        for name, fpr in self.fprs:
            try:
                drawn[name] = calibrate(population, fpr, feedback=engine.feedback, peer_groups=self.peer_groups,
                                        source=f"the accounts seen live and in the store's history")
            except ConfigError:
                continue   # too few accounts for this rate yet: the level keeps its shipped threshold
        self.calibrations = drawn
        lowest = min(self.levels, key=lambda level: level[1], default=None)
        if lowest is not None and lowest[0] in drawn:
            engine.apply_calibration(drawn[lowest[0]])   # flagged_after: when the drawn threshold was first reached
        return bool(drawn)

    def _changed(self, accounts: Iterable[str]) -> list[AccountRisk]:
        engine = self.engine
        changed = []
        for account in accounts:
            track = engine.tracks[account]
            score = track.best_score
            if score == float("-inf"):
                continue
            traits = peer_traits(engine.states[account]) if self.calibrations else None
            level, threshold = self.level_for(score, traits, engine.feedback.get(account))
            if self._published.get(account) == (score, level):
                continue
            self._published[account] = (score, level)
            verdict = engine.verdict(account)
            changed.append(AccountRisk(account=account, score=score, level=level, threshold=threshold,
                                       cluster=engine.cluster_of.get(account), reasons=tuple(verdict.reasons),
                                       flagged_after=track.flagged_after, requests=engine.states[account].count,
                                       calibration=self._described(traits)))
        return changed

    def _described(self, traits: dict | None) -> dict:
        lowest = min(self.levels, key=lambda level: level[1], default=None)
        if lowest is None or traits is None or lowest[0] not in self.calibrations:
            return self._fallback
        return self.calibrations[lowest[0]].describe(traits)

    def threshold_of(self, name: str, threshold: float, traits: dict | None) -> float:
        calibration = self.calibrations.get(name)
        return calibration.threshold_for(traits).value if calibration is not None and traits else threshold

    def level_for(self, score: float, traits: dict | None = None, operator: str | None = None
                  ) -> tuple[str, float | None]:
        level, reached = "none", None
        if operator == BENIGN:   # the operator allowed it: the policy override acts; the detector stays quiet
            return level, reached
        for name, threshold in self.levels:
            threshold = self.threshold_of(name, threshold, traits)
            if score >= threshold:
                level, reached = name, threshold
        return level, reached


class LiveDetector:
    """The gateway's handle on the detector's process: feeds it, applies its updates to ``risk``.

    ``levels`` are (name, score threshold) pairs, mildest first; a level whose threshold is None is never
    reached automatically. ``on_change`` is called on the receiver thread whenever an account's level
    changes. ``process`` runs detection in the calling thread instead (tests and tools).
    """

    def __init__(self, model: DetectorModel, levels: list[tuple[str, float | None]], *,
                 embedder: PromptEmbedder | None = None, queue_size: int = 100_000, queue_bytes: int = 256 << 20,
                 on_change: LevelChange | None = None, link_every: int = 2000,
                 fprs: list[tuple[str, float]] | None = None, feedback: Feedback | None = None):
        self.model = model
        self.levels = [(name, threshold) for name, threshold in levels if threshold is not None]
        self.fprs = fprs            # (level, rate): thresholds drawn from the accounts seen (see RiskScorer)
        self.feedback = feedback    # the operator's word, in this process; the detector's process reads the store
        self.embedder = embedder
        self.link_every = link_every
        self.on_change = on_change
        self.queue_size = max(1, queue_size)
        self.queue_bytes = max(1, queue_bytes)
        self.risk: dict[str, AccountRisk] = {}
        self._batches: queue.SimpleQueue = queue.SimpleQueue()   # for the sender thread
        self._state = threading.Condition()      # guards the counts below; notified when a batch is done
        self._pending = 0                        # exchanges fed and not yet observed
        self._oldest_wait: deque[float] = deque()  # hand-over times of the batches waiting, oldest first
        self._sizes: deque[int] = deque()          # their sizes in bytes, in the same order
        self._pending_bytes = 0
        self._accepting = True
        self._closing = False
        self._process = None
        self._sender: threading.Thread | None = None
        self._receiver: threading.Thread | None = None
        self._local: RiskScorer | None = None
        self.pid: int | None = None              # the detector's process
        self.running = False                     # its process is up and being fed
        self.crashes = 0
        self.fed = 0
        self.processed = 0
        self.dropped = 0
        self.replayed = 0
        self.failures = 0
        self.last_batch_seconds = 0.0

    # any thread -------------------------------------------------------------------------------------
    def feed(self, records: Sequence[bytes | str | Exchange]) -> None:
        """Queue a batch of exchange records for detection; never blocks. A batch that does not fit (or
        one fed after detection stopped) is dropped and counted."""
        count = len(records)
        size = sum(len(record) if isinstance(record, (bytes, str)) else 0 for record in records)
        with self._state:
            if not self._accepting or self._pending + count > self.queue_size or \
                    (self._pending and self._pending_bytes + size > self.queue_bytes):
                self.dropped += count
                return
            self._pending += count
            self._pending_bytes += size
            self.fed += count
            self._oldest_wait.append(time.monotonic())
            self._sizes.append(size)
        self._batches.put(records)

    @property
    def depth(self) -> int:
        """Exchanges waiting for the detector."""
        return self._pending

    @property
    def lag_seconds(self) -> float:
        """How long the oldest batch still waiting has waited (0 when the detector is idle)."""
        with self._state:
            return time.monotonic() - self._oldest_wait[0] if self._oldest_wait else 0.0

    def level_of(self, account: str) -> str:
        risk = self.risk.get(account)
        return risk.level if risk is not None else "none"

    def start(self, replay: Replay | None = None) -> None:
        """Start the detector's process (warmed with ``replay`` first, when given) and the two threads."""
        context = multiprocessing.get_context("spawn")
        inbox, to_child = context.Pipe(duplex=False)
        from_child, outbox = context.Pipe(duplex=False)
        process = context.Process(target=_serve, name="distillshield-detector", daemon=True,
                                  args=(inbox, outbox, self.model, self.levels, self.embedder, self.link_every,
                                        replay, os.getpid(), self.fprs))
        try:
            process.start()
        except Exception:
            log.exception("live detection is off: its process could not start; requests are served without it")
            to_child.close()
            from_child.close()
            self._went_off()
            return
        finally:
            inbox.close()        # the child's ends: only the child holds them now, so EOF means it is gone
            outbox.close()
        self._process, self.pid, self.running = process, process.pid, True
        self._sender = threading.Thread(target=self._send, args=(to_child,), name="distillshield-detector-feed",
                                        daemon=True)
        self._receiver = threading.Thread(target=self._receive, args=(from_child,),
                                          name="distillshield-detector-results", daemon=True)
        self._sender.start()
        self._receiver.start()
        log.info("live detection runs in process %d", process.pid)

    def close(self, timeout: float = 10.0) -> None:
        """Let the process finish what was fed (up to ``timeout``), then stop it."""
        process = self._process
        if process is None:
            return
        self._closing = True
        deadline = time.monotonic() + timeout
        self._batches.put(_STOP)
        self._sender.join(max(0.0, deadline - time.monotonic()))
        process.join(max(0.1, deadline - time.monotonic()))
        if process.is_alive():
            log.warning("the live detection process did not finish its backlog in %.0f s; stopping it", timeout)
            process.terminate()
            process.join(2)
            if process.is_alive():
                process.kill()
                process.join(2)
        self._sender.join(2)
        self._receiver.join(2)
        self._went_off()
        self._process = None

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every batch fed so far has been observed and published (for tests and tools)."""
        deadline = time.monotonic() + timeout
        with self._state:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._state.wait(remaining)
        return True

    def process(self, exchanges: Iterable[Exchange], *, replaying: bool = False) -> None:
        """Observe exchanges in the calling thread and publish what changed (tests and tools; the gateway
        feeds the process instead). Level changes are reported unless ``replaying``."""
        if self._local is None:
            self._local = RiskScorer(self.model, self.levels, embedder=self.embedder, link_every=self.link_every,
                                     fprs=self.fprs, feedback=self.feedback)
        count, risks = self._local.process(exchanges)
        if replaying:
            self.replayed += count
        else:
            self.processed += count
        self._publish(risks, announce=not replaying)

    # the sender and receiver threads ----------------------------------------------------------------
    def _send(self, to_child) -> None:
        broken = False
        while True:
            batch = self._batches.get()
            if batch is _STOP:
                break
            if broken or not self._accepting:    # detection is off: the batch was counted as dropped
                continue
            try:
                to_child.send(Batch([_json_bytes(record) for record in batch]))
            except (OSError, ValueError):        # the process is gone; the receiver reports it
                broken = True
        if not broken:
            try:
                to_child.send(Stop())
            except (OSError, ValueError):
                pass
        to_child.close()

    def _receive(self, from_child) -> None:
        said_bye = False
        while True:
            try:
                message = from_child.recv()
            except (EOFError, OSError):
                break
            if isinstance(message, Done):
                count, risks, seconds, error = message.count, message.risks, message.seconds, message.error
                if error is not None:
                    self.failures += 1
                    log.error("live detection failed on a batch of %d exchanges:\n%s", count, error)
                self._publish(risks, announce=True)
                self.last_batch_seconds = seconds
                with self._state:
                    if error is None:
                        self.processed += count
                    self._pending -= count
                    if self._oldest_wait:
                        self._oldest_wait.popleft()
                        self._pending_bytes -= self._sizes.popleft()
                    self._state.notify_all()
            elif isinstance(message, Replayed):
                self.replayed += message.count
                self._publish(message.risks, announce=False)
            elif isinstance(message, Warmed):
                count, seconds, error = message.count, message.seconds, message.error
                if error is not None:
                    log.error("warming live detection from the store failed after %d exchanges; going on live:\n%s",
                              count, error)
                log.info("live detection warmed with %d past exchanges in %.1f s; %d accounts at a level", count,
                         seconds, sum(1 for risk in list(self.risk.values()) if risk.level != "none"))
            elif isinstance(message, Bye):
                said_bye = True
                break
        from_child.close()
        if not said_bye and not self._closing:
            self._crashed()

    def _publish(self, risks: Iterable[AccountRisk], *, announce: bool) -> None:
        """Publish risks; report level changes (not while replaying, so a restart does not repeat the
        events and alerts of the traffic it re-reads)."""
        for risk in risks:
            old = self.risk.get(risk.account)
            self.risk[risk.account] = risk
            old_level = old.level if old is not None else "none"
            if announce and risk.level != old_level and self.on_change is not None:
                try:
                    self.on_change(old_level, risk)
                except Exception:
                    log.exception("recording the level change of account %s failed", risk.account)

    def _crashed(self) -> None:
        process = self._process
        code = None
        if process is not None:
            process.join(2)
            code = process.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        self.crashes += 1
        log.error("live detection is off: its process (pid %s) ended unexpectedly (%s); requests are still "
                  "served, with the levels already reached and operators' overrides; %d exchanges waiting for "
                  "it are dropped. Restart the gateway to resume detection.", self.pid, how, self._pending)
        self._went_off()

    def _went_off(self) -> None:
        with self._state:
            self.running = False
            self._accepting = False
            self.dropped += self._pending
            self._pending = 0
            self._pending_bytes = 0
            self._oldest_wait.clear()
            self._sizes.clear()
            self._state.notify_all()


def _json_bytes(record: bytes | str | Exchange) -> bytes:
    if isinstance(record, bytes):
        return record
    if isinstance(record, str):
        return record.encode()
    return record.to_json()


def decode_records(records: Iterable[bytes | str]) -> Iterator[Exchange]:
    for record in records:
        try:
            yield Exchange.from_dict(orjson.loads(record))
        except (orjson.JSONDecodeError, DistillShieldError):
            continue


# what the gateway and the detector's process say to each other ------------------------------------------
@dataclass(slots=True)
class Batch:
    """Gateway -> detector: exchange records, as the JSON bytes the log writer wrote."""
    records: list[bytes]


@dataclass(slots=True)
class Stop:
    """Gateway -> detector: no more batches; answer ``Bye`` and exit."""


@dataclass(slots=True)
class Done:
    """Detector -> gateway: one batch scored; the risks that changed (none, and the traceback, if it failed)."""
    count: int
    risks: list
    seconds: float
    error: str | None


@dataclass(slots=True)
class Replayed:
    """Detector -> gateway: a chunk of the store's history observed while warming up, and the risks it changed."""
    count: int
    risks: list


@dataclass(slots=True)
class Warmed:
    """Detector -> gateway: warming up is over (``error``: why it stopped early)."""
    count: int
    seconds: float
    error: str | None


@dataclass(slots=True)
class Bye:
    """Detector -> gateway: stopped as asked."""


# the detector's process ---------------------------------------------------------------------------------
def _serve(inbox, outbox, model: DetectorModel, levels: list[tuple[str, float]], embedder, link_every: int,
           replay: Replay | None, parent_pid: int, fprs: list[tuple[str, float]] | None = None) -> None:
    """The detector's process: warm up, then one message in (a batch), one message out (what changed)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C reaches the gateway, which drains and stops us
    feedback = _store_feedback(replay.store_url) if replay is not None else None
    scorer = RiskScorer(model, levels, embedder=embedder, link_every=link_every, fprs=fprs, feedback=feedback)
    try:
        if replay is not None and not _warm(scorer, replay, outbox, parent_pid):
            return
        while True:
            try:
                message = inbox.recv()
            except EOFError:                     # the gateway is gone
                return
            if isinstance(message, Stop):
                outbox.send(Bye())
                return
            records = message.records
            started = time.perf_counter()
            try:
                _, risks = scorer.process(decode_records(records))
                error = None
            except Exception:                    # detection must never stop for one bad batch
                risks, error = [], traceback.format_exc()
            outbox.send(Done(len(records), risks, time.perf_counter() - started, error))
    except (BrokenPipeError, ConnectionResetError):   # the gateway is gone
        return


def _store_feedback(store_url: str) -> Feedback:
    """The operator's word from the store's account policies, read afresh at each recalibration."""
    def read() -> dict:
        store = Store(store_url)
        try:
            return feedback_from_accounts(store.list_accounts())
        except Exception:
            log.exception("reading operators' account policies for calibration failed; calibrating without them")
            return {}
        finally:
            store.close()
    return read


def _warm(scorer: RiskScorer, replay: Replay, outbox, parent_pid: int) -> bool:
    """Observe the stored exchanges of ``replay``, reporting each chunk; False when the gateway went away."""
    started = time.monotonic()
    total, error = 0, None
    store = None
    try:
        store = Store(replay.store_url)
        chunk: list[Exchange] = []
        for exchange in decode_records(store.iter_exchange_json(since=replay.since)):
            if exchange.epoch >= replay.until:   # live from here on: those come through the pipe
                break
            chunk.append(exchange)
            if len(chunk) >= _REPLAY_CHUNK:
                outbox.send(Replayed(len(chunk), scorer.process(chunk)[1]))
                total += len(chunk)
                chunk = []
                if os.getppid() != parent_pid:
                    return False
        if chunk:
            outbox.send(Replayed(len(chunk), scorer.process(chunk)[1]))
            total += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        raise
    except Exception:
        error = traceback.format_exc()
    finally:
        if store is not None:
            store.close()
    outbox.send(Warmed(total, time.monotonic() - started, error))
    return True


def level_thresholds(model: DetectorModel, fprs: list[tuple[str, float]]) -> list[tuple[str, float | None]]:
    """(level, false-positive rate) → (level, score threshold); an rate of 0 means never automatic."""
    return [(name, model.threshold(fpr).value_ if fpr > 0 else None) for name, fpr in fprs]
