"""The marketplace evaluation generator: its output parses as exchanges, labels cover it, a seed fixes it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from distillshield.records.exchange import Exchange

pytestmark = pytest.mark.slow       # three generator runs of ~17k exchanges each

GENERATOR = Path(__file__).resolve().parents[1] / "bench" / "generators" / "marketplace" / "generate.py"
SHAPES = {"reasoning_trace_farm", "self_instruct_expansion", "synthetic_multiturn", "logprob_harvest",
          "code_solution_harvest", "app_cover", "low_and_slow", "key_rotation_burst", "preference_sampling",
          "agent_trajectory_harvest", "parallel_corpus"}


def generate(out: Path, seed: int) -> dict:
    done = subprocess.run([sys.executable, str(GENERATOR), "--out", str(out), "--seed", str(seed),
                           "--scale", "0.03", "--no-data"], check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def validate(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(GENERATOR), "--validate", str(folder)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("marketplace")
    generate(out, seed=7)
    return out


def test_records_are_exchanges_in_their_own_serialised_form(small):
    lines = (small / "exchanges.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) > 1000
    for line in lines:
        record = json.loads(line)
        assert Exchange.from_dict(record).to_dict() == record
        assert list(Exchange.from_dict(record).to_dict()) == list(record)
    assert validate(small).returncode == 0


def test_labels_cover_every_account_and_every_campaign_shape(small):
    labels = [json.loads(line) for line in (small / "labels.jsonl").read_text().splitlines()]
    accounts = {json.loads(line)["account"] for line in (small / "exchanges.jsonl").read_text().splitlines()}
    assert {label["account"] for label in labels} == accounts
    assert {label["kind"] for label in labels if label["campaign"]} == SHAPES
    assert all(label["campaign"] == (label["campaign_id"] is not None) for label in labels)


def test_validate_reports_an_unlabelled_account(small, tmp_path):
    (tmp_path / "exchanges.jsonl").write_bytes((small / "exchanges.jsonl").read_bytes())
    labels = (small / "labels.jsonl").read_text().splitlines()
    (tmp_path / "labels.jsonl").write_text("\n".join(labels[1:]) + "\n")
    checked = validate(tmp_path)
    assert checked.returncode == 1 and "without a label" in checked.stdout


def test_a_seed_fixes_the_output_and_another_changes_it(small, tmp_path):
    generate(tmp_path / "again", seed=7)
    generate(tmp_path / "other", seed=8)
    same = (small / "exchanges.jsonl").read_bytes()
    assert (tmp_path / "again" / "exchanges.jsonl").read_bytes() == same
    assert (tmp_path / "other" / "exchanges.jsonl").read_bytes() != same
