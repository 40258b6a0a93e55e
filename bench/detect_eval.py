"""Detection on traffic from generators it was not fitted on: leave one generator out, report the worst.

    python bench/detect_eval.py --sim sim=601:1000 --set other=GENERATOR_OUT_DIR --set ... \
        [--mmd] [--json out.json] [--cache DIR]

Each ``--set NAME=FOLDER`` is one traffic generator's output: ``exchanges.jsonl`` and ``labels.jsonl``
(either the simulator's ``{"account", "label", "kind", "campaign"}`` or ``{"account", "kind", "campaign":
bool, "campaign_id"}``). ``--sim NAME=SEED[:CHAT_USERS]`` simulates one with ``distillshield lab traffic``'s
engine instead. For each generator held out, the scorer is fitted on the others' labelled checkpoints
(bench/train_detector.py's recipe), and the held-out traffic is run through the engine with that scorer in
time order (``--replay-clusters``: the cached model-free observation replayed instead, faster but without the
links among suspects) and calibrated on its own population, as ``distillshield scan`` does. Printed per held-out generator:
AUROC; TPR at a measured FPR of 1e-3 and 1e-2 (by ranking); measured FPR and TPR at ``--fpr 0.001`` and
``0.01``; per kind, accounts flagged and the median ``flagged_after``; linking precision and recall over
account pairs; the same for the shipped model (its shipped reference, then population calibration); and,
with ``--mmd``, the MMD two-sample baseline of arXiv 2606.05725 on the same accounts. The last block is
the worst held-out generator on each figure. For the main variant, the same with an analyst in the loop:
each round the analyst reviews ten of the flags at 0.01 (confirming campaigns, allowing ordinary accounts) and
the thresholds are drawn again with that word (``with_analyst``). ``--held-out NAME=FOLDER`` adds a generator that is only ever
evaluated (the detector fitted on all the others, and never on it, ``--save-model`` included): the check on
traffic written after the detector was changed.
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detect_common import read_labels  # noqa: E402

from distillshield.detect import DetectionEngine, DetectorModel  # noqa: E402
from distillshield.detect.calibration import BENIGN, CAMPAIGN, calibrate, peer_traits  # noqa: E402
from distillshield.detect.cluster import link_keys  # noqa: E402
from distillshield.detect.features import extract  # noqa: E402
from distillshield.detect.scan import read_in_time_order  # noqa: E402
from distillshield.detect.training import fit_scorer  # noqa: E402
from distillshield.errors import ConfigError  # noqa: E402

FPRS = (1e-3, 1e-2)
ANALYST_BUDGET = 10      # flags an analyst reviews per round, highest score first
ANALYST_ROUNDS = 20


# loading --------------------------------------------------------------------------------------------
def simulated(seed: int, chat_users: int | None, folder: Path) -> Path:
    from distillshield.lab import SimulationConfig, simulate, write_simulation

    if not (folder / "labels.jsonl").exists():
        counts = {"chat_user": chat_users} if chat_users else {}
        write_simulation(simulate(SimulationConfig(seed=seed, days=3.0, counts=counts)), folder)
    return folder


def observe(name: str, folder: Path, cache: Path | None, embedder=None) -> dict:
    """One generator's traffic through the engine (no model): checkpoints, clusters, peer traits; with
    ``embedder``, the topic signal and prompt-stream links too."""
    cached = cache / f"{name}{'_emb' if embedder else ''}.pkl" if cache else None
    if cached and cached.exists() and cached.stat().st_mtime > (folder / "exchanges.jsonl").stat().st_mtime:
        return pickle.loads(cached.read_bytes())
    exchanges = read_in_time_order(folder / "exchanges.jsonl")
    started = time.perf_counter()
    engine = DetectionEngine(None, embedder=embedder)
    engine.snapshots = []
    engine.observe_all(exchanges)
    engine.link()
    seconds = time.perf_counter() - started
    prompts = defaultdict(list)
    for exchange in exchanges:
        if len(prompts[exchange.account]) < 64:
            text = extract(exchange).prompt
            if text.strip():
                prompts[exchange.account].append(text)
    data = {"name": name, "labels": read_labels(folder / "labels.jsonl"), "snapshots": engine.snapshots,
            "traits": {a: peer_traits(s) for a, s in engine.states.items()},
            "requests": {a: s.count for a, s in engine.states.items()},
            "cluster_of": dict(engine.cluster_of), "exchanges": len(exchanges), "seconds": seconds,
            "prompts": dict(prompts),
            "link_keys": {a: link_keys(s) for a, s in engine.states.items()},
            "final_vectors": {a: s.feature_vector() for a, s in engine.states.items()}}   # bench/link_evidence.py
    if cached:
        cache.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(pickle.dumps(data))
    return data


# scoring -------------------------------------------------------------------------------------------
def histories(data: dict, scorer) -> dict[str, list[tuple[int, float]]]:
    """(requests seen, score) per account at each checkpoint, its clusters' scores included, in order."""
    out: dict[str, list] = defaultdict(list)
    seen: dict[str, int] = {}
    vectors = np.asarray([vector for _, _, vector in data["snapshots"]])
    scores = [scorer.score(vector) for vector in vectors]
    for (subject, count, _), score in zip(data["snapshots"], scores):
        if len(subject) == 1:
            seen[subject[0]] = count
            out[subject[0]].append((count, score))
        else:
            for member in subject:
                out[member].append((seen.get(member, 1), score))
    return out


def engine_histories(data: dict, scorer, embedder=None) -> tuple[dict[str, list[tuple[int, float]]], dict[str, str]]:
    """``histories`` as the live engine and ``scan`` make them with this scorer, and its clusters: linking
    among suspects depends on the scores, so the model-free observation's clusters cannot stand in."""
    engine = DetectionEngine(DetectorModel(scorer, np.zeros(0), {}), embedder=embedder, threshold=float("inf"))
    engine.observe_all(read_in_time_order(data["folder"] / "exchanges.jsonl"))
    engine.link()
    return {a: list(track.history) for a, track in engine.tracks.items()}, dict(engine.cluster_of)


def verdict_rows(data: dict, history: dict, thresholds: dict[str, float] | None) -> list[dict]:
    rows = []
    for account, label in data["labels"].items():
        points = history.get(account, [])
        best = max((score for _, score in points), default=-np.inf)
        threshold = thresholds.get(account, np.inf) if thresholds is not None else np.inf
        after = next((count for count, score in points if score >= threshold), None)
        rows.append({"account": account, **label, "score": best, "flagged_after": after,
                     "cluster": data["cluster_of"].get(account), "requests": data["requests"].get(account, 0)})
    return rows


def population_thresholds(data: dict, history: dict, fpr: float,
                          peer_groups: bool) -> tuple[dict[str, float] | None, str]:
    population = [(a, data["traits"][a], max(s for _, s in points)) for a, points in history.items()
                  if a in data["traits"] and points]
    try:
        calibration = calibrate(population, fpr, source=data["name"], peer_groups=peer_groups)
    except ConfigError as refused:
        return None, f"refused: {refused}"
    groups = ", ".join(f"{name} (n={g.n_accounts}, {g.method})" for name, g in sorted(calibration.groups.items()))
    return {a: calibration.threshold_for(data["traits"][a]).value for a in data["traits"]}, groups


def with_analyst(held: dict, history: dict, review_fpr: float = max(FPRS), budget: int = ANALYST_BUDGET,
                 rounds: int = ANALYST_ROUNDS) -> dict:
    """Population calibration with an analyst in the loop: each round the analyst reviews up to ``budget`` of
    the flags at ``review_fpr`` not yet reviewed (highest score first) and marks each a confirmed campaign or
    ordinary (allowed), as ``accounts update NAME --policy`` does; the thresholds are drawn again with that
    word, until no new flag is left or ``rounds`` have passed. Then every rate of ``FPRS`` is calibrated with
    the same word. A confirmed campaign counts as flagged (it was, before the review), an allowed account as
    not (its policy lets it through); ``ordinary_ever_flagged`` is the share of ordinary accounts flagged at
    that rate in any round, cleared or not (the false flags the operator saw on the way)."""
    best = {a: max(score for _, score in points) for a, points in history.items() if points and a in held["traits"]}
    distill = {a: held["labels"][a]["distill"] for a in best}
    feedback: dict[str, str] = {}

    def flagged_at(fpr: float) -> set[str]:
        calibration = calibrate([(a, held["traits"][a], score) for a, score in best.items()], fpr,
                                source=held["name"], feedback=feedback)
        return {a for a, score in best.items() if feedback.get(a) == CAMPAIGN or (
            feedback.get(a) != BENIGN and score >= calibration.threshold_for(held["traits"][a]).value)}

    ever: dict[float, set[str]] = {fpr: set() for fpr in FPRS}
    try:
        for done in range(rounds + 1):
            flagged = {fpr: flagged_at(fpr) for fpr in FPRS}
            for fpr, found in flagged.items():
                ever[fpr] |= found
            todo = sorted((a for a in flagged[review_fpr] if a not in feedback), key=lambda a: -best[a])[:budget]
            if not todo or done == rounds:
                break
            for account in todo:
                feedback[account] = CAMPAIGN if distill[account] else BENIGN
    except ConfigError as refused:
        return {"refused": str(refused)}
    ordinary = [a for a in best if not distill[a]]
    campaigns = [a for a in best if distill[a]]

    def share(found: set[str], accounts: list[str]) -> float | None:
        return sum(a in found for a in accounts) / len(accounts) if accounts else None

    return {"review_fpr": review_fpr, "reviewed": len(feedback), "review_rounds": done,
            "reviewed_ordinary": sum(label == BENIGN for label in feedback.values()),
            "at_fpr": {f"{fpr:g}": {"measured_fpr": share(flagged[fpr], ordinary), "tpr": share(flagged[fpr], campaigns),
                                    "ordinary_ever_flagged": share(ever[fpr], ordinary)} for fpr in FPRS}}


# figures -------------------------------------------------------------------------------------------
def at_measured_fpr(scores: np.ndarray, distill: np.ndarray, fpr: float) -> float:
    benign = np.sort(scores[~distill])
    allowed = int(np.floor(fpr * len(benign)))
    cut = benign[len(benign) - allowed - 1] if allowed < len(benign) else -np.inf
    return float((scores[distill] > cut).mean())


def pair_linking(rows: list[dict]) -> dict:
    together = same = both = 0
    for a, b in combinations([r for r in rows if r["cluster"] or r["campaign"]], 2):
        clustered = a["cluster"] is not None and a["cluster"] == b["cluster"]
        campaign = a["campaign"] is not None and a["campaign"] == b["campaign"]
        together += clustered
        same += campaign
        both += clustered and campaign
    return {"precision": both / together if together else None, "recall": both / same if same else None,
            "clustered_pairs": together, "campaign_pairs": same}


def figures(rows_at: dict[float, list[dict]], notes: dict[float, str]) -> dict:
    rows = next(iter(rows_at.values()))
    scores = np.array([r["score"] for r in rows])
    finite = scores[np.isfinite(scores)]
    scores[~np.isfinite(scores)] = (finite.min() if len(finite) else 0.0) - 1.0   # too few requests to score
    distill = np.array([r["distill"] for r in rows])
    out = {"accounts": len(rows), "distill": int(distill.sum()),
           "auroc": float(roc_auc_score(distill, scores)) if 0 < distill.sum() < len(rows) else None,
           "tpr_at_measured": {f"{f:g}": at_measured_fpr(scores, distill, f) for f in FPRS}, "at_fpr": {},
           "linking": pair_linking(rows)}
    for fpr, fpr_rows in rows_at.items():
        flagged = np.array([r["flagged_after"] is not None for r in fpr_rows])
        kinds = defaultdict(list)
        for row in fpr_rows:
            kinds[row["kind"]].append(row)
        out["at_fpr"][f"{fpr:g}"] = {
            "measured_fpr": float(flagged[~distill].mean()), "tpr": float(flagged[distill].mean()),
            "calibration": notes.get(fpr, ""),
            "by_kind": {kind: {"distill": members[0]["distill"], "accounts": len(members),
                               "flagged": sum(m["flagged_after"] is not None for m in members),
                               "median_flagged_after": _median([m["flagged_after"] for m in members])}
                        for kind, members in sorted(kinds.items())}}
    return out


def _median(values):
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


# the MMD baseline (arXiv 2606.05725) -----------------------------------------------------------------
def mmd_squared(x: np.ndarray, y: np.ndarray, bandwidth: float) -> float:
    """Unbiased MMD² with a Gaussian kernel."""
    def kernel(a, b):
        return np.exp(-np.maximum(2 - 2 * a @ b.T, 0) / (2 * bandwidth ** 2))   # unit vectors: |a-b|² = 2-2a·b
    kxx, kyy, kxy = kernel(x, x), kernel(y, y), kernel(x, y)
    m, n = len(x), len(y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2 * kxy.mean())


class WindowEmbeddings:
    """Each account's first ``window`` prompts, embedded once and shared by every fold."""

    def __init__(self, embedder, window: int):
        self.embedder, self.window, self.cache = embedder, window, {}

    def prefetch(self, pairs: list[tuple[dict, str]]) -> None:
        """Embed many accounts' windows in one batched call."""
        todo = [(d, a, d["prompts"].get(a, [])[:self.window]) for d, a in pairs if (d["name"], a) not in self.cache]
        todo = [(d, a, p) for d, a, p in todo if len(p) >= 4]
        if not todo:
            return
        vectors = self.embedder.embed([text for _, _, prompts in todo for text in prompts])
        offset = 0
        for d, a, prompts in todo:
            self.cache[(d["name"], a)] = vectors[offset:offset + len(prompts)]
            offset += len(prompts)

    def __call__(self, data: dict, account: str) -> np.ndarray | None:
        key = (data["name"], account)
        if key not in self.cache:
            prompts = data["prompts"].get(account, [])[:self.window]
            self.cache[key] = self.embedder.embed(prompts) if len(prompts) >= 4 else None
        return self.cache[key]


def mmd_baseline(held: dict, train: list[dict], windows: WindowEmbeddings, reference_size: int,
                 null_size: int, benign_sample: int, rng: np.random.Generator) -> dict:
    """Each account's window of prompts against a pool of benign prompts from the fitting generators;
    thresholds from benign-vs-benign windows of those generators (the paper's recipe). Every campaign
    account of the held-out generator is scored, and a random ``benign_sample`` of its ordinary ones."""
    benign = [(d, a) for d in train for a, label in d["labels"].items() if not label["distill"]]
    order = rng.permutation(len(benign))
    windows.prefetch([benign[i] for i in order[:reference_size // 2 + null_size + 100]])
    pool, null_accounts = [], []
    for index in order:
        data, account = benign[index]
        vectors = windows(data, account)
        if vectors is None:
            continue
        if sum(len(v) for v in pool) < reference_size:
            pool.append(vectors[:2])            # two prompts per account: a pool of many accounts
        elif len(null_accounts) < null_size:
            null_accounts.append(vectors)
        else:
            break
    reference = np.concatenate(pool)
    bandwidth = float(np.sqrt(np.median(np.maximum(2 - 2 * reference @ reference.T, 1e-9)) / 2))
    null = np.sort([mmd_squared(vectors, reference, bandwidth) for vectors in null_accounts])
    started = time.perf_counter()
    ordinary = [a for a, label in held["labels"].items() if not label["distill"]]
    sampled = set(rng.choice(ordinary, min(benign_sample, len(ordinary)), replace=False))
    labels = {a: label for a, label in held["labels"].items() if label["distill"] or a in sampled}
    windows.prefetch([(held, a) for a in labels])
    held_scores = {}
    for account in labels:
        vectors = windows(held, account)
        held_scores[account] = None if vectors is None else mmd_squared(vectors, reference, bandwidth)
    seconds = time.perf_counter() - started
    rows_at, notes = {}, {}
    for fpr in FPRS:
        cut = float(np.quantile(null, 1 - fpr, method="higher"))
        notes[fpr] = f"benign-vs-benign quantile over {len(null)} windows of the fitting generators"
        rows_at[fpr] = [{"account": a, **label, "score": -np.inf if held_scores[a] is None else held_scores[a],
                         "flagged_after": (min(windows.window, held["requests"].get(a, 0))
                                           if held_scores[a] is not None and held_scores[a] > cut else None),
                         "cluster": None, "requests": held["requests"].get(a, 0)}
                        for a, label in labels.items()]
    result = figures(rows_at, notes)
    result["seconds"] = seconds
    result["ordinary_accounts_sampled"] = len(sampled)
    return result


# the protocol ----------------------------------------------------------------------------------------
def fit_on(sets: list[dict]):
    labels = {a: label["distill"] for d in sets for a, label in d["labels"].items()}
    return fit_scorer([snap for d in sets for snap in d["snapshots"]], labels)


def benign_best_scores(data: dict, scorer) -> list[float]:
    """Each ordinary account's best score (its clusters' included) under ``scorer``."""
    history = histories(data, scorer)
    return [max(score for _, score in history[a]) for a, label in data["labels"].items()
            if not label["distill"] and history.get(a)]


def evaluate_held_out(held: dict, train: list[dict], shipped: DetectorModel | None,
                      engine_scoring: bool = False, embedder=None) -> dict:
    scorer = fit_on(train)
    out = {}
    engine_run = None
    if engine_scoring:
        history, cluster_of = engine_histories(held, scorer, embedder)
        engine_run = (history, {**held, "cluster_of": cluster_of})
    variants = [("fitted on the others, population calibration", scorer),
                ("fitted on the others, population calibration per peer group", scorer)]
    if shipped is not None:
        variants += [("shipped model, population calibration", shipped.scorer),
                     ("shipped model, shipped reference", shipped.scorer)]
    for variant, variant_scorer in variants:
        use_engine = engine_run is not None and variant_scorer is scorer
        history, seen = engine_run if use_engine else (histories(held, variant_scorer), held)
        rows_at, notes = {}, {}
        for fpr in FPRS:
            if variant.endswith("shipped reference"):
                cut = shipped.threshold(fpr).value_
                thresholds, notes[fpr] = {a: cut for a in seen["traits"]}, f"shipped reference, threshold {cut:.2f}"
            else:
                thresholds, notes[fpr] = population_thresholds(seen, history, fpr, variant.endswith("peer group"))
            rows_at[fpr] = verdict_rows(seen, history, thresholds)
        out[variant] = figures(rows_at, notes)
        if variant == "fitted on the others, population calibration":
            out[variant]["with_analyst"] = with_analyst(seen, history)
    return out


def report(name: str, results: dict, data: dict) -> str:
    lines = [f"== held out: {name} ({data['exchanges']} exchanges, {len(data['labels'])} accounts, "
             f"scan {data['exchanges'] / max(data['seconds'], 1e-9):.0f} exchanges/s)"]
    for variant, result in results.items():
        link = result["linking"]
        lines.append(f"  [{variant}] AUROC {_f(result['auroc'])}; TPR at measured FPR 1e-3 "
                     f"{_f(result['tpr_at_measured']['0.001'])}, 1e-2 {_f(result['tpr_at_measured']['0.01'])}; "
                     f"linking P {_f(link['precision'])} R {_f(link['recall'])}")
        for fpr, row in result["at_fpr"].items():
            lines.append(f"    --fpr {fpr}: measured FPR {row['measured_fpr']:.4f}, TPR {row['tpr']:.3f}  "
                         f"[{row['calibration'][:160]}]")
        analyst = result.get("with_analyst")
        if analyst and "refused" in analyst:
            lines.append(f"    an analyst reviewing flags: {analyst['refused'][:160]}")
        elif analyst:
            lines.append(f"    an analyst reviewing {ANALYST_BUDGET} flags at --fpr {analyst['review_fpr']:g} a round: "
                         f"{analyst['reviewed']} reviewed ({analyst['reviewed_ordinary']} ordinary) in "
                         f"{analyst['review_rounds']} rounds; then")
            for fpr, row in analyst["at_fpr"].items():
                lines.append(f"      --fpr {fpr}: measured FPR {_f(row['measured_fpr'])} (ordinary ever flagged "
                             f"{_f(row['ordinary_ever_flagged'])}), TPR {_f(row['tpr'])}")
        if variant.endswith("population calibration") and variant.startswith("fitted") or variant.startswith("MMD"):
            for kind, row in result["at_fpr"]["0.01"]["by_kind"].items():
                after = "-" if row["median_flagged_after"] is None else f"{row['median_flagged_after']:.0f}"
                low = result["at_fpr"]["0.001"]["by_kind"][kind]["flagged"]
                lines.append(f"      {kind:<28}{'distill' if row['distill'] else 'benign':<8}{row['accounts']:>5} "
                             f"flagged {low:>4} at 1e-3, {row['flagged']:>4} at 1e-2; median after {after}")
    return "\n".join(lines)


def _f(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def worst(all_results: dict) -> dict:
    out = {}
    for variant in next(iter(all_results.values())):
        rows = {name: results[variant] for name, results in all_results.items() if variant in results}

        def pick(get, higher_is_worse=False):
            values = {name: get(r) for name, r in rows.items() if get(r) is not None}
            if not values:
                return None
            name = (max if higher_is_worse else min)(values, key=values.get)
            return {"value": values[name], "generator": name}

        out[variant] = {
            "auroc": pick(lambda r: r["auroc"]),
            "tpr_at_measured_1e-2": pick(lambda r: r["tpr_at_measured"]["0.01"]),
            "tpr_at_measured_1e-3": pick(lambda r: r["tpr_at_measured"]["0.001"]),
            "measured_fpr_at_0.001": pick(lambda r: r["at_fpr"]["0.001"]["measured_fpr"], True),
            "measured_fpr_at_0.01": pick(lambda r: r["at_fpr"]["0.01"]["measured_fpr"], True),
            "tpr_at_0.01": pick(lambda r: r["at_fpr"]["0.01"]["tpr"]),
            **{f"{figure}_at_{fpr}_with_analyst": pick(
                lambda r, figure=figure, fpr=fpr: r.get("with_analyst", {}).get("at_fpr", {}).get(fpr, {}).get(figure),
                figure != "tpr")
               for figure in ("tpr", "measured_fpr", "ordinary_ever_flagged") for fpr in ("0.001", "0.01")},
            "linking_recall": pick(lambda r: r["linking"]["recall"]),
            "linking_precision": pick(lambda r: r["linking"]["precision"]),
            "campaign_kinds_missed_at_0.01": {name: [k for k, row in r["at_fpr"]["0.01"]["by_kind"].items()
                                                     if row["distill"] and row["flagged"] == 0]
                                              for name, r in rows.items()},
        }
    return out


def lab_set(arm: Path, folder: Path) -> Path:
    """A lab arm as a labelled set: its gateway log, the attacker's accounts (distill, by strategy) and the
    ordinary accounts (benign, by kind); the lab's admin account is left out."""
    attackers = json.loads((arm / "accounts.json").read_text())
    ordinary = json.loads((arm / "ordinary.json").read_text()) if (arm / "ordinary.json").exists() else {}
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"account": a, "kind": row.get("strategy", "attacker"), "campaign": True, "campaign_id": "lab"}
            for a, row in attackers.items()]
    rows += [{"account": a, "kind": row.get("kind", "ordinary"), "campaign": False} for a, row in ordinary.items()]
    (folder / "labels.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    (folder / "exchanges.jsonl").write_bytes((arm / "gateway.jsonl").read_bytes())
    return folder


def save_model(data: dict[str, dict], path: str, embeddings: bool) -> None:
    """One scorer fitted on every set; thresholds from ordinary accounts it never saw (cross-fitted: each
    set's ordinary accounts scored by the scorer fitted on the other sets)."""
    from datetime import datetime, timezone

    reference = []
    for name, held in data.items():
        reference += benign_best_scores(held, fit_on([d for other, d in data.items() if other != name]))
    model = DetectorModel(fit_on(list(data.values())), np.asarray(reference), {
        "trained": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "fit": {"sets": sorted(data), "accounts": sum(len(d["labels"]) for d in data.values()),
                "snapshots": sum(len(d["snapshots"]) for d in data.values())},
        "reference": {"accounts": len(reference), "how": "each set's ordinary accounts, scored by the model "
                                                           "fitted without that set (bench/detect_eval.py --save-model)"},
        "embeddings": embeddings})
    model.save(path)
    for fpr in FPRS:
        threshold = model.threshold(fpr)
        print(f"saved {path}: threshold at fpr {fpr:g}: {threshold.value_:.3f} ({threshold.method_}, "
              f"{threshold.reference_accounts_} reference accounts)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=FOLDER")
    parser.add_argument("--sim", action="append", default=[], metavar="NAME=SEED[:CHAT_USERS]",
                        help="simulate a set with the project's simulator (written under --cache)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "distillshield_detect_cache",
                        help="where each set's replay (and simulated sets) are kept between runs")
    parser.add_argument("--mmd", action="store_true", help="also run the MMD baseline (embeds prompts)")
    parser.add_argument("--mmd-window", type=int, default=8, help="prompts per account window")
    parser.add_argument("--mmd-reference", type=int, default=256, help="benign prompts in the reference pool")
    parser.add_argument("--mmd-null", type=int, default=400, help="benign-vs-benign windows for the threshold")
    parser.add_argument("--mmd-ordinary", type=int, default=400,
                        help="ordinary accounts of the held-out generator scored by the baseline (a random sample)")
    parser.add_argument("--json", dest="json_path")
    parser.add_argument("--no-shipped", action="store_true", help="leave out the shipped model's rows")
    parser.add_argument("--lab", action="append", default=[], metavar="NAME=ARM_FOLDER",
                        help="a lab campaign arm's gateway log (runs/<run>/on or off: gateway.jsonl, accounts.json of "
                             "the attacker's accounts, ordinary.json of the ordinary ones), evaluated only (never "
                             "fitted on) with the detector fitted on every other set")
    parser.add_argument("--held-out", action="append", default=[], metavar="NAME=FOLDER",
                        help="a generator's output evaluated only, never fitted on (nor in --save-model): the "
                             "detector fitted on every --set and --sim")
    parser.add_argument("--save-model", metavar="PATH",
                        help="also fit a model on every set and save it (the shipped model.json's recipe): its "
                             "reference is each set's ordinary accounts scored by the model fitted without that set")
    parser.add_argument("--replay-clusters", action="store_true",
                        help="score held-out sets by replaying the model-free observation's checkpoints and clusters "
                             "(fast, but without the links among suspects, which depend on the fitted model) instead "
                             "of running the engine with the fitted model, as scan and the live gateway do")
    parser.add_argument("--suspect-share", type=float, default=None,
                        help="top share of accounts that one kind of evidence may link (cluster.SUSPECT_SHARE; 0: "
                             "off)")
    parser.add_argument("--embeddings", action="store_true",
                        help="observe with the prompt embedder: the topic signal and prompt-stream links on")
    args = parser.parse_args()
    if args.suspect_share is not None:
        from distillshield.detect import cluster
        cluster.SUSPECT_SHARE = args.suspect_share
    embedder = None
    if args.embeddings:
        from distillshield.detect.embed import PromptEmbedder
        embedder = PromptEmbedder()
    folders = {}
    for spec in args.sim:
        name, _, rest = spec.partition("=")
        seed, _, chat = rest.partition(":")
        folders[name] = simulated(int(seed), int(chat) if chat else None, args.cache / f"sim_{name}")
    for spec in args.sets:
        name, _, folder = spec.partition("=")
        folders[name] = Path(folder)
    if len(folders) < 2:
        parser.error("leave-one-out needs at least two sets")
    labs = {name: lab_set(Path(folder), args.cache / f"lab_{name}") for name, _, folder in
            (spec.partition("=") for spec in args.lab)}
    data = {}
    for name, folder in folders.items():
        data[name] = {**observe(name, folder, args.cache, embedder), "folder": folder}
        print(f"{name}: {data[name]['exchanges']} exchanges, {len(data[name]['labels'])} accounts observed in "
              f"{data[name]['seconds']:.0f} s", flush=True)
    shipped = None if args.no_shipped else DetectorModel.load()
    windows = None
    if args.mmd:
        from distillshield.detect.embed import PromptEmbedder
        windows = WindowEmbeddings(PromptEmbedder(threads=2), args.mmd_window)
    all_results = {}

    def evaluate(name: str, held: dict, train: list[dict]) -> None:
        results = evaluate_held_out(held, train, shipped, not args.replay_clusters, embedder)
        if windows is not None:
            results["MMD baseline (arXiv 2606.05725)"] = mmd_baseline(
                held, train, windows, args.mmd_reference, args.mmd_null, args.mmd_ordinary, np.random.default_rng(0))
        all_results[name] = results
        print(report(name, results, held), flush=True)

    for name, held in data.items():
        evaluate(name, held, [d for other, d in data.items() if other != name])
    for spec in args.held_out:
        name, _, folder = spec.partition("=")
        evaluate(name, {**observe(name, Path(folder), args.cache, embedder), "folder": Path(folder)},
                 list(data.values()))
    for name, folder in labs.items():
        held = {**observe(name, folder, None, embedder), "folder": folder}
        results = evaluate_held_out(held, list(data.values()), None, not args.replay_clusters, embedder)
        all_results[name] = results
        print(report(name, results, held), flush=True)
    if args.save_model:
        save_model(data, args.save_model, embedder is not None)
    summary = worst(all_results)
    print("\n== worst held-out generator, per figure")
    for variant, figures_ in summary.items():
        print(f"  [{variant}]")
        for figure, found in figures_.items():
            print(f"    {figure}: {found}")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps({"held_out": all_results, "worst": summary}, indent=1,
                                                   default=float))


if __name__ == "__main__":
    main()
