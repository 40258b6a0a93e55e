"""``scan`` on a cluster (Dask): the log partitioned by account, the same verdicts as one process.

The engine of one process does two things: per-account work (each exchange updates its account's state,
scored at the account's checkpoints), and every ``link_every`` exchanges of the whole log a *re-link*:
accounts linked into clusters and each cluster scored on its members' combined traffic, the score
counted in every member's history. The first partitions cleanly by account; the second is global, at
moments fixed by the global time order (a "barrier" after every ``link_every``-th exchange).

So the scan runs in steps:

1. *Partition* (here): the log is read in time order (``ordering.in_time_order``), each exchange numbered
   by its rank in that order and written to the file of its account's partition (CRC32 of the account).
2. *Pass one* (the workers, one task per partition): the engine's per-account work over the partition's
   exchanges; at each barrier, the ``LinkKeys`` of the accounts whose keys changed since the last. Back
   come the final account states (less what only the per-exchange work needs), each checkpoint's score
   tagged with the barrier it precedes, and the key changes.
3. *Linking* (here): the barriers replayed in order over the gathered keys and, for the suspects of each
   barrier (``cluster.suspects_of``), the checkpoint scores before it, ``link_by_keys`` as the one process
   links: which accounts formed which cluster at which barrier.
4. *Pass two* (the workers, only partitions holding such members): the partition read again, those
   members' exchanges alone (the others' lines are not even parsed), their states copied at those barriers.
5. *Here*: each cluster's members merged (``merge_states``) and scored, the scores put into the members'
   histories in the order the one process would have; then the same final link, calibration and verdicts
   as ``scan``. Memory here is the accounts' states, never the exchanges.

Embeddings are not computed on the workers (their batches would differ from one process's, and the
quantised model's output depends on its batch): ``scan`` refuses the topic signal on a cluster (a model
using it runs with ``--no-embeddings``, as in one process).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
import tempfile
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson

from distillshield.detect.cluster import LinkKeys, link_by_keys, link_keys, suspects_of
from distillshield.detect.engine import DetectionEngine, _Track
from distillshield.detect.ordering import in_time_order
from distillshield.detect.scoring import DetectorModel
from distillshield.detect.state import AccountState, merge_states
from distillshield.errors import ConfigError
from distillshield.records import BadLine, Exchange

ENGINES = ("dask",)
INSTALL_HINT = "the distributed scan needs the optional extra: pip install 'distillshield[distributed]'"


# the workers' side ---------------------------------------------------------------------------------------
class _PartitionEngine(DetectionEngine):
    """The engine's per-account work over one partition, the global re-links left to the coordinator."""

    def __init__(self, model: DetectorModel, link_every: int):
        super().__init__(model, threshold=float("inf"), link_every=link_every)
        self.barrier = 0             # barriers passed
        self.tag = 0                 # the barrier the exchange being read precedes
        self.entries: dict[str, list[tuple[int, int, float, object]]] = defaultdict(list)
        self.first_rank: dict[str, int] = {}
        self.touched: set[str] = set()   # accounts read since the last barrier

    def _consider(self, account: str, score: float, vector, cluster: str | None, count: int | None = None) -> None:
        self.entries[account].append((self.tag, count, score, vector))

    def read(self, path: str, total: int, at_barrier: Callable[[int], None], only: set[str] | None = None) -> None:
        """Observe the partition's exchanges in rank order (``only`` these accounts' when given: an account's
        state depends on its own exchanges alone), calling ``at_barrier`` at each global barrier."""
        for rank, account, record in _read_partition(path):
            while (self.barrier + 1) * self.link_every < rank:
                self.barrier += 1
                at_barrier(self.barrier)
            if only is not None and account not in only:
                continue
            self.tag = -(-rank // self.link_every)
            self.first_rank.setdefault(account, rank)
            self.touched.add(account)
            self.update_account(Exchange.from_dict(orjson.loads(record)))
        while (self.barrier + 1) * self.link_every <= total:
            self.barrier += 1
            at_barrier(self.barrier)


def first_pass(path: str, total: int, model: DetectorModel, link_every: int) -> dict:
    """Step 2 for one partition: final states, checkpoint scores by barrier, and link-key changes."""
    engine = _PartitionEngine(model, link_every)
    emitted: dict[str, LinkKeys | None] = {}
    changes: dict[int, dict[str, LinkKeys | None]] = {}

    def at_barrier(barrier: int) -> None:
        changed = {}
        for name in engine.touched:
            keys = link_keys(engine.states[name])
            if keys != emitted.get(name):
                changed[name] = emitted[name] = keys
        engine.touched.clear()
        if changed:
            changes[barrier] = changed

    engine.read(path, total, at_barrier)
    return {"states": {name: _light(state) for name, state in engine.states.items()},
            "entries": dict(engine.entries), "changes": changes, "first_rank": engine.first_rank}


def second_pass(path: str, total: int, model: DetectorModel, link_every: int,
                wanted: dict[int, list[str]]) -> dict[int, dict[str, AccountState]]:
    """Step 4 for one partition: copies of the ``wanted`` accounts' states at each barrier."""
    engine = _PartitionEngine(model, link_every)
    copies: dict[int, dict[str, AccountState]] = {}

    def at_barrier(barrier: int) -> None:
        if barrier in wanted:
            copies[barrier] = {name: _light(engine.states[name]) for name in wanted[barrier]}

    engine.read(path, total, at_barrier, only={name for names in wanted.values() for name in names})
    return copies


def _light(state: AccountState) -> AccountState:
    """A copy of the state less what only the per-exchange work reads (prompt hashes, the LSH index)."""
    return copy.deepcopy(dataclasses.replace(state, prompt_hashes=set(), embed_sample=[], _near_duplicates=None))


def _read_partition(path: str) -> Iterator[tuple[int, str, bytes]]:
    """(global rank, account, the record's JSON) of each line of a partition file."""
    with open(path, "rb") as stream:
        for line in stream:
            rank, account, record = line.split(b"\t", 2)
            yield int(rank), orjson.loads(account), record


# the coordinator's side ----------------------------------------------------------------------------------
def partition_of(account: str, partitions: int) -> int:
    return zlib.crc32(account.encode()) % partitions


def partition_log(path: str | Path, folder: str, partitions: int,
                  on_bad_line: Callable[[BadLine], None] | None = None) -> tuple[list[str], int]:
    """Step 1: the log's exchanges by account into ``partitions`` files, each line its global rank first."""
    paths = [os.path.join(folder, f"part-{index:04d}.jsonl") for index in range(partitions)]
    outputs = [open(name, "wb") for name in paths]
    total = 0
    try:
        for total, exchange in enumerate(in_time_order(path, on_bad_line, spill_dir=folder), start=1):
            # the account in the clear, JSON-escaped (no tab), so that a pass can skip others' lines unparsed
            line = b"%d\t%s\t%s\n" % (total, orjson.dumps(exchange.account), exchange.to_json())
            outputs[partition_of(exchange.account, partitions)].write(line)
    finally:
        for output in outputs:
            output.close()
    return paths, total


class Cluster:
    """A Dask cluster to run tasks on: the scheduler at ``address``, or a local one of ``workers`` processes."""

    def __init__(self, workers: int = 2, address: str | None = None):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError(INSTALL_HINT) from None
        self._stack = contextlib.ExitStack()
        if address:
            self.client = self._stack.enter_context(Client(address))
        else:
            local = self._stack.enter_context(LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                           dashboard_address=None, silence_logs=40))
            self.client = self._stack.enter_context(Client(local))
        self.workers = len(self.client.scheduler_info()["workers"]) or workers

    def map(self, function: Callable, calls: list[tuple]) -> list:
        futures = [self.client.submit(function, *args, pure=False) for args in calls]
        return self.client.gather(futures)

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def distributed_engine(path: str | Path, model: DetectorModel, *, cluster: Cluster, partitions: int | None = None,
                       spill_dir: str | Path | None = None, link_every: int = 2000,
                       on_bad_line: Callable[[BadLine], None] | None = None) -> DetectionEngine:
    """A ``DetectionEngine`` in the state the one-process scan leaves it after reading the whole log."""
    partitions = partitions or cluster.workers
    clock = _Clock()
    with tempfile.TemporaryDirectory(prefix="distillshield-scan-", dir=spill_dir) as folder:
        paths, total = partition_log(path, folder, partitions, on_bad_line)
        clock.lap("partition")
        first = cluster.map(first_pass, [(name, total, model, link_every) for name in paths])
        clock.lap("first_pass")
        formed = _clusters_by_barrier([result["changes"] for result in first], [result["entries"] for result in first],
                                      total // link_every)
        clock.lap("linking")
        wanted_by_part: list[dict[int, list[str]]] = [defaultdict(list) for _ in paths]
        for barrier, clusters in formed.items():
            for _, members in clusters:
                for member in members:
                    wanted_by_part[partition_of(member, partitions)][barrier].append(member)
        calls = [(paths[index], total, model, link_every, dict(wanted)) for index, wanted in enumerate(wanted_by_part)
                 if wanted]
        copies: dict[int, dict[str, AccountState]] = defaultdict(dict)
        for result in cluster.map(second_pass, calls) if calls else []:
            for barrier, states in result.items():
                copies[barrier].update(states)
        clock.lap("second_pass")
    engine = _assemble(model, link_every, total, first, formed, copies)
    clock.lap("assemble")
    engine.phase_seconds = clock.laps
    return engine


class _Clock:
    """Seconds spent in each step, for sizing a cluster (``bench/scan_scale.py`` reports them)."""

    def __init__(self):
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 2)
        self._last = now


def _clusters_by_barrier(changes: list[dict[int, dict[str, LinkKeys | None]]],
                         entries: list[dict[str, list[tuple]]], barriers_in_log: int
                         ) -> dict[int, list[tuple[str, list[str]]]]:
    """Step 3: at each barrier where any keys or suspects changed, the clusters ``link_by_keys`` finds, as
    (evidence, members) in the engine's cluster order; unchanged barriers keep the last barrier's clusters (the
    one process re-links and re-scores its clusters at every barrier, the quiet ones at the end included).
    The suspects at a barrier come from the accounts' own checkpoint scores before it (``entries``: each
    partition's (barrier tag, count, score, vector) per account), as the one process ranks them there;
    ``barriers_in_log``: how many barriers the log has (scores after the last one precede no barrier)."""
    barriers = sorted({barrier for part in changes for barrier in part})
    scored: dict[int, list[tuple[str, float]]] = defaultdict(list)
    for part in entries:
        for account, own in part.items():
            for tag, _, score, _ in own:
                scored[tag].append((account, score))
    keys: dict[str, LinkKeys | None] = {}
    own_best: dict[str, float] = {}
    suspects: frozenset[str] = frozenset()
    formed: dict[int, list[tuple[str, list[str]]]] = {}
    current: list[tuple[str, list[str]]] = []
    for barrier in range(1, barriers_in_log + 1):
        for account, score in scored.get(barrier, ()):
            own_best[account] = max(own_best.get(account, float("-inf")), score)
        changed = barrier in barriers
        for part in changes:
            keys.update(part.get(barrier, {}))
        now_suspected = suspects_of(own_best, keys) if barrier in scored or changed else suspects
        if changed or now_suspected != suspects:
            suspects = now_suspected
            current = sorted(link_by_keys(keys, suspects).items(), key=lambda item: item[1][0])
        if current:
            formed[barrier] = current
    return formed


def _assemble(model: DetectorModel, link_every: int, total: int, first: list[dict],
              formed: dict[int, list[tuple[str, list[str]]]], copies: dict[int, dict[str, AccountState]]
              ) -> DetectionEngine:
    """Step 5: the engine's states and tracks as one process would have them after reading the log."""
    engine = DetectionEngine(model, threshold=float("inf"), link_every=link_every)
    entries: dict[str, list[tuple]] = defaultdict(list)
    first_rank = {name: rank for result in first for name, rank in result["first_rank"].items()}
    states = {name: state for result in first for name, state in result["states"].items()}
    for name in sorted(states, key=first_rank.__getitem__):   # first seen first, as one process adds them
        engine.states[name] = states[name]
    for result in first:
        for account, own in result["entries"].items():
            entries[account].extend((tag, 0, count, score, vector, None) for tag, count, score, vector in own)
    for barrier, clusters in formed.items():
        for index, (evidence, members) in enumerate(clusters):
            cluster_id = f"c_{index + 1}"
            merged = merge_states(cluster_id, [copies[barrier][member] for member in members])
            vector = merged.feature_vector()
            score = model.scorer.score(vector)
            label = f"{cluster_id} ({len(members)} accounts linked by {evidence.split('|')[0]})"
            for member in members:
                entries[member].append((barrier, 1, copies[barrier][member].count, score, vector, label))
    for name in engine.states:
        engine.tracks[name] = _Track()
        for _, _, count, score, vector, label in sorted(entries.get(name, []), key=lambda entry: entry[:2]):
            engine._consider(name, score, vector, label, count)
    engine.seen = total
    return engine
