"""What the detection benchmarks share: which prompt sources and seeds tune the detector, which are held out.

The detector is fitted on tuning sources and seeds, calibrated on other seeds of the
same sources, and evaluated on prompt sources and seeds it never saw. Without
``../shared/data`` the simulator's built-in generators stand in, split the same way.
"""

from __future__ import annotations

import json
from pathlib import Path

from distillshield.lab.kinds import KINDS
from distillshield.lab.traffic import Simulation, SimulationConfig, simulate

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

SOURCES = {  # (benign, campaign) prompt sources, by role
    "tune": (["arena_hard_v0.1", "builtin_chat"], ["gpteacher_codegen", "gsm8k_train", "builtin_code", "builtin_logic"]),
    "eval": (["sharegpt_dev", "alpaca_eval_users", "builtin_tech"],
             ["gpteacher_roleplay", "alpaca_seed_tasks", "builtin_roleplay", "builtin_instructions", "builtin_math"]),
}
SOURCES_WITHOUT_DATA = {
    "tune": (["builtin_chat"], ["builtin_code", "builtin_logic"]),
    "eval": (["builtin_tech"], ["builtin_roleplay", "builtin_instructions", "builtin_math"]),
}
FIT_SEEDS = [11, 12]
REFERENCE_SEEDS = [21, 22, 23, 24]
EVAL_SEEDS = [101, 102]
BENIGN_KINDS = [name for name, kind in KINDS.items() if kind.label == "benign"]


def data_dir() -> Path | None:
    return SHARED_DATA if SHARED_DATA.is_dir() else None


def simulation(seed: int, role: str, *, scale: float = 1.0, days: float = 3.0, benign_only: bool = False) -> Simulation:
    folder = data_dir()
    benign, campaign = (SOURCES if folder else SOURCES_WITHOUT_DATA)[role]
    counts = {kind: 0 for kind, spec in KINDS.items() if spec.label == "distill"} if benign_only else {}
    return simulate(SimulationConfig(seed=seed, scale=scale, days=days, data_dir=folder, benign_sources=benign,
                                     campaign_sources=campaign, counts=counts))


def labels_of(sim: Simulation) -> dict[str, dict]:
    return {row["account"]: row for row in sim.labels}


def read_labels(path: Path) -> dict[str, dict]:
    """account -> {distill, kind, campaign}, whichever of the two label formats the file uses: the simulator's
    ``{"account", "label", "kind", "campaign"}`` or the generators' ``{"account", "kind", "campaign": bool,
    "campaign_id"}``."""
    out = {}
    for line in Path(path).read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if "label" in row:
            distill = row["label"] == "distill"
            campaign = row.get("campaign") if distill else None
        else:
            distill = bool(row.get("campaign"))
            campaign = row.get("campaign_id") if distill else None
        out[row["account"]] = {"distill": distill, "kind": row.get("kind", "?"),
                               "campaign": f"{campaign}" if campaign is not None else None}
    return out
