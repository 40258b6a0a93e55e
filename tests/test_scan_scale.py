"""Scans past one machine: Parquet in and out, a streamed scan in time order whatever the file's order,
and the scan on a local Dask cluster of two workers giving the one-process verdicts."""

from __future__ import annotations

import os
import random
import stat

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from detect_helpers import exchange
from distillshield.cli import main
from distillshield.detect.ordering import in_time_order
from distillshield.lab import SimulationConfig, simulate, write_simulation
from distillshield.records import BadLine, Exchange, read_exchanges, write_exchanges
from distillshield.records.parquet import read_log, read_parquet, schema, to_row, write_parquet
from distillshield.store import Store
from distillshield.store.logwriter import exchange_row


@pytest.fixture(scope="module")
def lab_log(tmp_path_factory):
    """A lab day of a few hundred accounts, campaigns among them (linked into clusters by the engine)."""
    folder = tmp_path_factory.mktemp("lab")
    write_simulation(simulate(SimulationConfig(seed=11, days=1.0, scale=0.3)), folder)
    return folder / "exchanges.jsonl"


@pytest.fixture(scope="module")
def lab_verdicts(lab_log, tmp_path_factory):
    """The one-process scan's verdicts of the lab log, through the CLI: what every other way must give."""
    out = tmp_path_factory.mktemp("verdicts") / "one.jsonl"
    result = CliRunner().invoke(main, ["scan", str(lab_log), "--out", str(out), "--fpr", "0.01"])
    assert result.exit_code == 0, result.output
    return out, result.output


def _odd_records() -> list[dict]:
    """Records whose fields do not fit their columns' types, or are not known fields at all."""
    base = {"id": "ex_1", "ts": "2026-11-02T00:00:00.000Z", "account": "a", "endpoint": "/v1/completions",
            "request": {"prompt": "héllo ✓", "n": 2}}
    return [
        {**base, "latency_ms": 12, "status": 200},                      # an integer latency stays an integer
        {**base, "id": "ex_2", "status": "200", "ip": 7, "trace": {"x": [1, 2.5, None]}},
        {**base, "id": "ex_3", "response": None, "error": {"message": "boom"}, "key_id": "k"},
        {**base, "id": "ex_4", "latency_ms": 1.5, "status": 2 ** 63},    # past int64: kept as a number in extra
    ]


def _verdicts(path) -> list[dict]:
    """The verdicts of a scan, less the calibration's source (which names the file scanned)."""
    verdicts = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    for verdict in verdicts:
        verdict["calibration"].pop("source")
    return verdicts


# Parquet -----------------------------------------------------------------------------------------------
def test_jsonl_to_parquet_to_jsonl_is_exact(lab_log, tmp_path):
    original = lab_log.read_bytes().splitlines()
    odd = [Exchange.from_dict(record).to_json() for record in _odd_records()]
    lines = original + odd
    count = write_parquet(tmp_path / "log.parquet", map(orjson.loads, lines), rows_per_group=1000)
    assert count == len(lines)
    assert pq.ParquetFile(tmp_path / "log.parquet").metadata.num_row_groups > 1
    back = [item.to_json() for item in read_parquet(tmp_path / "log.parquet", batch_rows=777)]
    assert back == lines


def test_bad_parquet_rows_are_reported_by_row_and_skipped(tmp_path):
    good = _odd_records()[0]
    rows = [to_row(good), {**to_row(good), "account": None}, {**to_row(good), "request": "{not json"},
            {**to_row(good), "ts": "yesterday"}, {**to_row(good), "extra": "[1]"}, to_row(good)]
    pq.write_table(pa.Table.from_pylist(rows, schema=schema()), tmp_path / "bad.parquet")
    items = list(read_log(tmp_path / "bad.parquet"))
    assert [type(item) for item in items] == [Exchange, BadLine, BadLine, BadLine, BadLine, Exchange]
    assert [item.line_number for item in items if isinstance(item, BadLine)] == [2, 3, 4, 5]
    assert "account" in items[1].message and "JSON" in items[2].message and "ts" in items[3].message


def test_a_file_that_is_not_parquet_or_lacks_columns_is_one_line_error(tmp_path):
    (tmp_path / "x.parquet").write_text("hello")
    pq.write_table(pa.table({"id": ["a"]}), tmp_path / "thin.parquet")
    for name, expected in (("x.parquet", "not a readable Parquet file"), ("thin.parquet", "lacks the exchange column")):
        result = CliRunner().invoke(main, ["scan", str(tmp_path / name), "--out", str(tmp_path / "v.jsonl")])
        assert result.exit_code != 0
        assert expected in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_export_writes_parquet_and_scan_reads_it_with_the_same_verdicts(lab_log, lab_verdicts, tmp_path):
    store = Store(str(tmp_path / "s.db"))
    exchanges = [item for item in read_exchanges(lab_log.open("rb"))]
    store.insert_exchanges([exchange_row(exchange) for exchange in exchanges])
    runner = CliRunner()
    for out in ("log.parquet", "log.jsonl"):
        result = runner.invoke(main, ["--db", str(tmp_path / "s.db"), "export", "--out", str(tmp_path / out)])
        assert result.exit_code == 0, result.output
        assert f"wrote {len(exchanges)} exchange records" in result.output
    assert stat.S_IMODE(os.stat(tmp_path / "log.parquet").st_mode) == 0o600
    assert [e.to_json() for e in read_log(tmp_path / "log.parquet")] == (tmp_path / "log.jsonl").read_bytes().splitlines()
    refused = runner.invoke(main, ["--db", str(tmp_path / "s.db"), "export", "--format", "parquet"])
    assert refused.exit_code != 0 and "needs --out" in refused.output
    result = runner.invoke(main, ["scan", str(tmp_path / "log.parquet"), "--out", str(tmp_path / "v"), "--fpr", "0.01"])
    assert result.exit_code == 0, result.output
    assert _verdicts(tmp_path / "v") == _verdicts(lab_verdicts[0])


# time order --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_out_of_order_logs_are_sorted_externally_as_a_stable_sort_would(lab_log, lab_verdicts, tmp_path):
    lines = lab_log.read_bytes().splitlines()
    shuffled = lines[:]
    random.Random(5).shuffle(shuffled)
    (tmp_path / "shuffled.jsonl").write_bytes(b"\n".join([b"not json", *shuffled]) + b"\n")
    bad = []
    streamed = [e.to_json() for e in in_time_order(tmp_path / "shuffled.jsonl", bad.append, spill_dir=tmp_path,
                                                   chunk_rows=997)]
    expected = sorted((Exchange.from_dict(orjson.loads(line)) for line in shuffled), key=lambda e: e.epoch)
    assert streamed == [e.to_json() for e in expected]
    assert [item.line_number for item in bad] == [1]
    assert list(tmp_path.glob("distillshield-sort-*")) == []     # the spilled runs are removed
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "shuffled.jsonl"), "--out", str(tmp_path / "v"),
                                       "--fpr", "0.01"])
    assert result.exit_code == 0, result.output
    assert "1 bad lines skipped" in result.output and "shuffled.jsonl:1: skipped: not valid JSON" in result.output
    assert _verdicts(tmp_path / "v") == _verdicts(lab_verdicts[0])


# the distributed scan ----------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_two_worker_dask_cluster_gives_the_one_process_verdicts(lab_log, lab_verdicts, tmp_path):
    import dask.distributed  # noqa: F401  (CI installs the extra: this test never skips)

    spread = CliRunner().invoke(main, ["scan", str(lab_log), "--out", str(tmp_path / "two.jsonl"), "--fpr", "0.01",
                                       "--workers", "2", "--spill-dir", str(tmp_path)])
    assert spread.exit_code == 0, spread.output
    one, single_output = lab_verdicts[0].read_bytes(), lab_verdicts[1]
    assert one == (tmp_path / "two.jsonl").read_bytes()         # same accounts, scores, clusters, reasons, order
    verdicts = [orjson.loads(line) for line in one.splitlines()]
    assert sum(v["cluster"] is not None for v in verdicts) >= 4   # the cross-account step had work to do
    assert any(v["reasons"][0]["signal"] == "campaign_cluster" for v in verdicts)
    assert single_output.split(" in ")[0] == spread.output.split(" in ")[0]   # "scanned N exchanges of M accounts"
    assert list(tmp_path.glob("distillshield-scan-*")) == []


def _harness_log(path, ordinary: int = 150, harness: int = 6, tail: int = 0) -> None:
    """Ordinary chat accounts beside a harness of accounts that rotate agent strings, temperatures and
    addresses (sharing only their request shape), each starting later than the one before (so suspects change
    between barriers), in time order: more than one link barrier long; then ``tail`` requests of one more harness
    account alone, from one address (a quiet end where its keys settle while its score still climbs)."""
    rng = random.Random(3)
    items = []
    for index in range(ordinary):
        agent, history = rng.choice(["OpenAI/Python 1.99", "Mozilla/5.0 (Mac)", "curl/8.5"]), []
        for i in range(rng.randint(8, 16)):
            prompt = f"question {i} on topic {rng.randrange(500)} from {index}"
            carried = history if rng.random() < 0.4 else []
            items.append(exchange(f"o{index:03d}", prompt, at=rng.uniform(0, 86400), history=carried,
                                  ip=f"198.18.{index}.9", user_agent=agent, answer_tokens=rng.randint(30, 400),
                                  **({"max_tokens": 512} if index % 2 else {})))
            history = [*history, {"role": "user", "content": prompt}, {"role": "assistant", "content": f"answer {i}"}]
    for index, i in ((index, i) for index in range(harness) for i in range(70)):
        address = f"100.{64 + rng.randrange(60)}.{rng.randrange(250)}.{rng.randrange(250)}"
        items.append(exchange(f"h{index}", f"Explain step by step: exercise {index}-{i}",
                              at=rng.uniform(index * 9000, 86000), ip=address, user_agent=f"client-{index}/1.{index}",
                              answer_tokens=rng.randint(700, 1200), max_tokens=3000, temperature=0.5 + index / 10))
    items += [exchange("h9", f"Explain step by step: exercise 0-{70 + i}", at=86000 + i, ip="100.64.1.1",
                       user_agent="client-9/1.9", answer_tokens=900, max_tokens=3000, temperature=0.5)
              for i in range(tail)]
    with open(path, "wb") as out:
        write_exchanges(out, sorted(items, key=lambda item: item.ts))


def test_links_among_suspects_are_the_same_on_a_dask_cluster(tmp_path):
    """The suspects at each link barrier come from the workers' checkpoint scores; they must be the ones
    the one process ranks there, so the harness is linked (and scored) the same way."""
    import dask.distributed  # noqa: F401

    _harness_log(tmp_path / "log.jsonl")
    outputs = []
    for name, extra in (("one", []), ("two", ["--workers", "2", "--spill-dir", str(tmp_path)])):
        result = CliRunner().invoke(main, ["scan", str(tmp_path / "log.jsonl"), "--out", str(tmp_path / name),
                                           "--fpr", "0.01", *extra])
        assert result.exit_code == 0, result.output
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]
    verdicts = [orjson.loads(line) for line in outputs[0].splitlines()]
    linked = [v for v in verdicts if v["cluster"] and "among suspects" in v["reasons"][0]["evidence"]]
    assert len(linked) >= 3 and all(v["account"].startswith("h") for v in linked)


class _InProcess:
    """A cluster that runs its tasks here, one after another (the steps are what is tested, not Dask)."""
    workers = 3

    @staticmethod
    def map(function, calls):
        return [function(*call) for call in calls]


def test_the_suspects_of_every_barrier_are_the_ones_process_ranks_there(tmp_path):
    """Linked every 25 exchanges, suspects come and go between barriers (the harness's accounts start one after
    another), and the log ends with barriers where only a cluster's member sends; each barrier's clusters and
    the scores they add to the members' histories must be those of one process."""
    from distillshield.detect.distributed import distributed_engine
    from distillshield.detect.engine import DetectionEngine
    from distillshield.detect.scoring import DetectorModel

    _harness_log(tmp_path / "log.jsonl", tail=60)
    model = DetectorModel.load(None)
    one = DetectionEngine(model, threshold=float("inf"), link_every=25)
    one.observe_all(in_time_order(tmp_path / "log.jsonl"))
    spread = distributed_engine(tmp_path / "log.jsonl", model, cluster=_InProcess(), link_every=25)
    assert {name: track.history for name, track in one.tracks.items()} == \
        {name: track.history for name, track in spread.tracks.items()}
    linked_by_suspicion = {name for name, track in one.tracks.items()
                           if track.best_from_cluster and "among suspects" in track.best_from_cluster}
    assert len(linked_by_suspicion) >= 3


def test_without_the_extra_the_distributed_scan_is_one_line_error(lab_log, tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name.startswith("dask"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    result = CliRunner().invoke(main, ["scan", str(lab_log), "--out", str(tmp_path / "v"), "--workers", "2"])
    assert result.exit_code != 0
    assert "pip install 'distillshield[distributed]'" in result.output and "Traceback" not in result.output


def test_the_distributed_scan_refuses_the_topic_signal(lab_log, tmp_path):
    from distillshield.detect.scan import scan
    from distillshield.detect.scoring import DetectorModel
    from distillshield.errors import ConfigError

    shipped = DetectorModel.load()
    with_topics = DetectorModel(shipped.scorer, shipped.benign_max_scores, {**shipped.trained_on, "embeddings": True})

    class NoCluster:   # never reached: the refusal comes first
        workers = 2

        def map(self, function, calls):
            raise AssertionError("the cluster was used")

    with pytest.raises(ConfigError, match="--no-embeddings"):
        scan(lab_log, tmp_path / "v.jsonl", model=with_topics, cluster=NoCluster())
