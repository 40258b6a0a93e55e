"""What each watermark configuration buys in detection, and what it costs in answer quality: one table, one plot.

    python bench/watermark_tradeoff.py [--detection bench/results/watermark_kgw_sweep.json ...]
                                       [--records bench/results/watermark_quality_answers.jsonl] [--prompts 256]
                                       [--png bench/results/watermark_tradeoff.png] [--json bench/results/watermark_tradeoff.json]

It reruns nothing: detection comes from `watermark_eval.py` runs (temperature 0.7 / top_p 0.95: TPR at p <= 1e-3 at
100 and 200 tokens and after 30% word edits), quality from the answers `watermark_quality.py` scored (the Gemma
perplexity ratio against unmarked answers to the same prompts, paired, over the first `--prompts` prompts that every
configuration answered). A configuration appears when both are there; where several `--detection` files measured
it, the first one listed counts. The plot puts quality on x and detection on y, with the issue's goals as lines.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))

from watermark_quality import read_records, summarize  # noqa: E402

GOALS = {"tpr_100": 0.8, "tpr_200": 0.95, "tpr_edit30": 0.8}


def wilson(share: float, n: int) -> tuple[float, float]:
    """95% Wilson interval of a proportion (for the TPR of n answers)."""
    if n == 0:
        return (0.0, 1.0)
    interval = stats.binomtest(round(share * n), n).proportion_ci(0.95, method="wilson")
    return (min(share, interval.low), max(share, interval.high))   # float rounding at 0 and 1


def detection_rows(paths: list[Path]) -> dict[str, dict]:
    """configuration -> its temperature-0.7 detection figures and the number of answers behind them."""
    rows: dict[str, dict] = {}
    for path in paths:
        if not path.exists():
            continue
        report = json.loads(path.read_text())
        answers = report["sizes"]["prompts_t0.7"]
        for name, found in report["results"].get("t0.7", {}).items():
            if name != "none" and name not in rows and "tpr_200" in found:
                rows[name] = {**{key: found[key] for key in GOALS}, "answers": answers, "source": path.name}
    return rows


def tradeoff(detection: dict[str, dict], records: list[dict], prompts: int) -> list[dict]:
    out = []
    for name, found in detection.items():
        both = [r for r in records if "none" in r and name in r][:prompts]
        if not both:
            continue
        quality = summarize(both, ["none", name])["results"][name]
        out.append({"configuration": name, **found, "quality_prompts": len(both),
                    "perplexity_ratio": quality["paired"]["ratio"], "perplexity_ratio_95ci": quality["paired"]["ratio_95ci"],
                    "distinct_trigrams": quality["distinct_trigrams"],
                    "meets": {goal: found[goal] >= level for goal, level in GOALS.items()}})
    return sorted(out, key=lambda row: row["perplexity_ratio"])


def table(rows: list[dict]) -> str:
    lines = ["| configuration | perplexity ratio [95% CI] (prompts) | distinct trigrams | TPR@100 | TPR@200 | after 30% edits | "
             "answers | all three goals |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        low, high = row["perplexity_ratio_95ci"]
        lines.append(f"| `{row['configuration']}` | {row['perplexity_ratio']:.3f} [{low:.3f}, {high:.3f}] ({row['quality_prompts']}) | "
                     f"{row['distinct_trigrams']:.2f} | "
                     f"{row['tpr_100']:.2f} | {row['tpr_200']:.2f} | {row['tpr_edit30']:.2f} | {row['answers']} | "
                     f"{'yes' if all(row['meets'].values()) else 'no'} |")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharex=True)
    for axis, (goal, title) in zip(axes, (("tpr_200", "detected at 200 tokens"), ("tpr_edit30", "detected after 30% word edits"))):
        for row in rows:
            x, (low, high) = row["perplexity_ratio"], row["perplexity_ratio_95ci"]
            y = row[goal]
            y_low, y_high = wilson(y, row["answers"] or 0)
            colour = "tab:green" if row["configuration"].split(":")[0] != "kgw" else "tab:blue"
            axis.errorbar(x, y, xerr=[[x - low], [high - x]], yerr=[[y - y_low], [y_high - y]], fmt="o", color=colour,
                          ecolor=colour, alpha=0.8, capsize=2)
            axis.annotate(row["configuration"], (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
        axis.axhline(GOALS[goal], color="grey", linestyle="--", linewidth=1)
        axis.axvline(1.0, color="grey", linestyle=":", linewidth=1)
        axis.set_title(f"{title} (goal {GOALS[goal]})", fontsize=10)
        axis.set_xlabel("Gemma perplexity of answers, ratio to unmarked (95% CI)")
        axis.set_ylim(-0.02, 1.05)
    axes[0].set_ylabel("TPR at p <= 1e-3, temperature 0.7 (95% CI)")
    fig.suptitle("Watermark configurations: detection against answer quality (blue: green list, green: distribution-preserving)",
                 fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--detection", nargs="+", default=["bench/results/watermark_kgw_sweep.json",
                                                           "bench/results/watermark_kgw_sweep_delta3.json",
                                                           "bench/results/watermark_eval.json"])
    parser.add_argument("--records", default="bench/results/watermark_quality_answers.jsonl")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--prompts", type=int, default=256)
    parser.add_argument("--png", default="bench/results/watermark_tradeoff.png")
    parser.add_argument("--json", default="bench/results/watermark_tradeoff.json")
    args = parser.parse_args()
    detection = detection_rows([Path(path) for path in args.detection])
    rows = tradeoff(detection, read_records(Path(args.records), args.tokens), args.prompts)
    if not rows:
        raise SystemExit("no configuration has both detection and quality figures")
    Path(args.json).write_text(json.dumps(rows, indent=2))
    plot(rows, Path(args.png))
    print(table(rows))
    print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
