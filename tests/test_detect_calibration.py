"""The shipped detector on traffic it was not fitted on: its false-positive rate holds, and campaigns are caught.

The simulator's built-in prompt generators and a seed never used in fitting or
calibration stand in for an operator's traffic (no ../shared data needed).
"""

from __future__ import annotations

import pytest
from scipy.stats import binom

from distillshield.detect import DetectionEngine, DetectorModel
from distillshield.lab.traffic import SimulationConfig, simulate

HELD_OUT_SEED = 977
pytestmark = pytest.mark.slow          # a calibration population: `make test-fast` leaves it out


@pytest.fixture(scope="module")
def verdicts():
    simulation = simulate(SimulationConfig(seed=HELD_OUT_SEED, scale=0.25, days=2))
    labels = {row["account"]: row for row in simulation.labels}
    engine = DetectionEngine(DetectorModel.load(), fpr=1e-2)
    engine.observe_all(simulation.exchanges)
    return [(verdict, labels[verdict.account]) for verdict in engine.verdicts()]


@pytest.mark.slow
def test_false_positive_rate_on_held_out_ordinary_accounts_is_within_its_bound(verdicts):
    benign = [verdict for verdict, label in verdicts if label["label"] == "benign"]
    flagged = sum(verdict.flagged for verdict in benign)
    # the count a true rate of 1e-2 would exceed only once in a thousand runs
    bound = binom.ppf(0.999, len(benign), 1e-2)
    assert len(benign) >= 80
    assert flagged <= bound, f"{flagged} of {len(benign)} ordinary accounts flagged at fpr 0.01"


def test_campaign_accounts_are_flagged_with_reasons(verdicts):
    distilling = [verdict for verdict, label in verdicts if label["label"] == "distill"]
    caught = [verdict for verdict in distilling if verdict.flagged]
    assert len(caught) >= 0.8 * len(distilling), f"{len(caught)} of {len(distilling)} campaign accounts flagged"
    assert all(verdict.reasons and verdict.flagged_after for verdict in caught)
