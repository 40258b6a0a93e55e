"""One detector for every replica: the engine runs once over the shared traffic log, and every replica
reads the risks it publishes.

Replicas behind a load balancer each see a share of the traffic; a campaign spread over them (what a
hydra network does) is seen whole only where all of it is read. ``DetectorService`` (``distillshield
detector``) reads the store's exchanges in the order they were inserted, scores them with the same
``RiskScorer`` the in-gateway detector uses, and publishes each account's risk to Redis: a hash holds the
current risk of every account, a channel announces each change, and each replica's ``SharedRisk`` keeps
a local dict current from them, so the hot path stays one dict look-up.

Exactly once, across kills: each step reads a batch, scores it, and commits the risks and the reading
position (a checkpoint) in one Redis transaction. A restarted service first re-reads, silently, the
stored exchanges up to its checkpoint (those of the ``replay_hours`` before the last one it had read), which rebuilds the engine's
state as it was, then goes on after the checkpoint: no exchange is skipped, none is counted twice.
Several replicas insert at once, so on PostgreSQL a row may commit after a row numbered after it; the
reader remembers the numbers it skipped (gaps) and picks those rows up when they appear, for
``gap_seconds`` (a number never filled, from a rolled-back insert, is then given up).

Level changes are announced (policy events, alerts) by comparing each new risk with the level Redis
held, before the transaction: a kill between the two repeats an announcement, never loses one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

import orjson

from distillshield.detect.live import AccountRisk, RiskScorer, decode_records
from distillshield.store import Store

log = logging.getLogger("distillshield.detect")

_MAX_GAP_RUN = 100_000       # a jump in numbering this large is not waited on row by row


def _keys(prefix: str) -> dict[str, str]:
    return {"risk": f"{prefix}:risk", "channel": f"{prefix}:risk-changes", "version": f"{prefix}:risk-version",
            "checkpoint": f"{prefix}:detector:checkpoint", "heartbeat": f"{prefix}:detector:heartbeat"}


def risk_json(risk: AccountRisk, version: int) -> bytes:
    return orjson.dumps({**risk.as_dict(), "score": risk.score, "version": version})


def risk_from_json(data: bytes | str) -> tuple[int, AccountRisk]:
    fields = orjson.loads(data)
    version = fields.pop("version", 0)
    fields["reasons"] = tuple(fields.get("reasons") or ())
    return version, AccountRisk(**fields)


class OrderedReader:
    """The store's exchanges in insertion order, none skipped when rows commit out of order."""

    def __init__(self, store: Store, *, seq: int = 0, gaps: dict[int, float] | None = None,
                 gap_seconds: float = 30.0, batch: int = 2000):
        self.store = store
        self.seq = seq
        self.gaps = dict(gaps or {})
        self.gap_seconds = gap_seconds
        self.batch = batch

    def read(self) -> list[tuple[int, str]]:
        now = time.time()
        fresh = []
        for seq, record in self.store.exchanges_after(self.seq, limit=self.batch, also=self.gaps):
            if seq in self.gaps:
                del self.gaps[seq]
            elif seq > self.seq:
                if seq - self.seq - 1 <= _MAX_GAP_RUN:
                    self.gaps.update((missing, now) for missing in range(self.seq + 1, seq))
                self.seq = seq
            else:
                continue
            fresh.append((seq, record))
        for seq, since in list(self.gaps.items()):
            if now - since > self.gap_seconds:
                del self.gaps[seq]
        return fresh

    def checkpoint(self, **more) -> bytes:
        return orjson.dumps({"seq": self.seq, "gaps": {str(seq): since for seq, since in self.gaps.items()}, **more})

    @classmethod
    def from_checkpoint(cls, store: Store, data: bytes | None, **options) -> OrderedReader:
        if not data:
            return cls(store, **options)
        saved = orjson.loads(data)
        return cls(store, seq=saved["seq"], gaps={int(seq): since for seq, since in saved["gaps"].items()},
                   **options)


class DetectorService:
    """Reads the shared log, scores it once, publishes every account's risk to Redis."""

    def __init__(self, store: Store, redis_client, scorer: RiskScorer, *, prefix: str = "distillshield",
                 on_change: Callable[[str, AccountRisk], None] | None = None, replay_hours: float = 24.0,
                 gap_seconds: float = 30.0, batch: int = 2000):
        self.store = store
        self.redis = redis_client
        self.scorer = scorer
        self.keys = _keys(prefix)
        self.on_change = on_change
        self.replay_hours = replay_hours
        self.gap_seconds = gap_seconds
        self.batch = batch
        self.reader: OrderedReader | None = None
        self.replayed = 0
        self.processed = 0
        self.last_ts = 0.0           # the time of the newest exchange processed (for the lag)

    def resume(self) -> None:
        """Rebuild the engine's state from the stored exchanges up to the checkpoint, silently."""
        saved = self.redis.get(self.keys["checkpoint"])
        self.reader = OrderedReader.from_checkpoint(self.store, saved, gap_seconds=self.gap_seconds,
                                                    batch=self.batch)
        if saved is None:
            log.info("detector: no checkpoint; reading the log from its start")
            return
        self.last_ts = orjson.loads(saved).get("last_ts", 0.0)
        since = self.last_ts - self.replay_hours * 3600
        replay = OrderedReader(self.store, batch=self.batch)
        while True:
            rows = [(seq, record) for seq, record in replay.read() if seq <= self.reader.seq
                    and seq not in self.reader.gaps]
            if not rows and replay.seq >= self.reader.seq:
                break
            exchanges = [exchange for exchange in decode_records(record for _, record in rows) if exchange.epoch >= since]
            self.replayed += self.scorer.process(exchanges)[0]
            if replay.seq >= self.reader.seq:
                break
        log.info("detector: resumed after exchange %d (%d re-read to rebuild its state)", self.reader.seq,
                 self.replayed)

    def step(self) -> int:
        """Read, score and publish one batch; the number of exchanges it held."""
        if self.reader is None:
            self.resume()
        rows = self.reader.read()
        exchanges = list(decode_records(record for _, record in rows))
        _, risks = self.scorer.process(exchanges)
        if exchanges:
            self.last_ts = max(self.last_ts, max(exchange.epoch for exchange in exchanges))
        self._publish(risks)
        self.processed += len(rows)
        return len(rows)

    def _publish(self, risks: list[AccountRisk]) -> None:
        keys = self.keys
        if risks:
            self._announce(risks)
        pipe = self.redis.pipeline(transaction=True)
        if risks:
            version = int(self.redis.incr(keys["version"]))
            encoded = {risk.account: risk_json(risk, version) for risk in risks}
            pipe.hset(keys["risk"], mapping=encoded)
            pipe.publish(keys["channel"], b"[" + b",".join(encoded.values()) + b"]")
        pipe.set(keys["checkpoint"], self.reader.checkpoint(last_ts=self.last_ts))
        pipe.set(keys["heartbeat"], repr(time.time()), ex=60)
        pipe.execute()

    def _announce(self, risks: Iterable[AccountRisk]) -> None:
        if self.on_change is None:
            return
        risks = list(risks)
        held = self.redis.hmget(self.keys["risk"], [risk.account for risk in risks])
        for risk, before in zip(risks, held):
            old_level = risk_from_json(before)[1].level if before else "none"
            if old_level != risk.level:
                try:
                    self.on_change(old_level, risk)
                except Exception:
                    log.exception("recording the level change of account %s failed", risk.account)

    def run(self, stop: threading.Event, *, poll_seconds: float = 0.2) -> None:
        self.resume()
        while not stop.is_set():
            try:
                if self.step() == 0:
                    stop.wait(poll_seconds)
            except Exception:   # the store or Redis is away: keep the position, try again
                log.exception("detector: a step failed; retrying in 1 s")
                stop.wait(1.0)

    @property
    def lag_seconds(self) -> float:
        return max(0.0, time.time() - self.last_ts) if self.last_ts else 0.0


class SharedRisk:
    """A replica's copy of the risks the detector service publishes: a local dict kept current by one
    thread (a snapshot of the hash, then every change announced on the channel). When Redis cannot be
    reached the dict keeps the last levels it knew and ``connected`` says so; it catches up on reconnect."""

    def __init__(self, redis_url: str, prefix: str = "distillshield"):
        self.redis_url = redis_url
        self.keys = _keys(prefix)
        self.risk: dict[str, AccountRisk] = {}
        self._versions: dict[str, int] = {}
        self.connected = False
        self.disconnects = 0
        self.detector_seen_at: float | None = None      # the service's last heartbeat (epoch seconds)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="distillshield-shared-risk", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    @property
    def detector_age_seconds(self) -> float | None:
        return None if self.detector_seen_at is None else max(0.0, time.time() - self.detector_seen_at)

    def apply(self, encoded: bytes | str) -> None:
        version, risk = risk_from_json(encoded)
        if version >= self._versions.get(risk.account, -1):
            self._versions[risk.account] = version
            self.risk[risk.account] = risk

    def _run(self) -> None:
        import redis

        while not self._stop.is_set():
            client = None
            try:
                client = redis.Redis.from_url(self.redis_url, socket_timeout=5, socket_connect_timeout=2)
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.keys["channel"])
                for encoded in client.hgetall(self.keys["risk"]).values():
                    self.apply(encoded)
                self.connected = True
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        for encoded in orjson.loads(message["data"]):
                            self.apply(orjson.dumps(encoded))
                    heartbeat = client.get(self.keys["heartbeat"])
                    self.detector_seen_at = float(heartbeat) if heartbeat else self.detector_seen_at
            except (redis.RedisError, OSError) as exc:
                if self.connected:
                    log.error("shared risk: Redis unreachable (%s); serving with the last %d levels known",
                              exc, len(self.risk))
                self.connected = False
                self.disconnects += 1
                self._stop.wait(1.0)
            finally:
                if client is not None:
                    client.close()
