#!/usr/bin/env python3
"""Run the DistillShield scanner (black box) on a generated folder and tabulate flags per strategy.

    evaluate.py DIR [--fprs 0.001 0.01] [--write-readme]

Writes DIR/verdicts_<fpr>.jsonl and DIR/detection.md; with --write-readme also puts the table into
DIR/README.md (after the `<!-- detection -->` marker).
"""
import argparse
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict

MAIN = "/work/main"
PY = "/work/main/.venv/bin/python"


def scan(folder, fpr, reference=None):
    out = os.path.join(folder, f"verdicts_{fpr}{'_ownref' if reference else ''}.jsonl")
    extra = ["--reference", reference] if reference else []
    subprocess.run([PY, "-m", "distillshield", "scan", os.path.join(folder, "exchanges.jsonl"), "--out", out,
                    "--fpr", str(fpr)] + extra, cwd=MAIN, check=True, stdout=sys.stderr)
    return {v["account"]: v for v in map(json.loads, open(out))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--fprs", type=float, nargs="+", default=[0.001, 0.01])
    ap.add_argument("--write-readme", action="store_true")
    ap.add_argument("--own-reference", action="store_true",
                    help="set the threshold from this folder's benign accounts (--reference) instead of the shipped one")
    args = ap.parse_args()
    args.folder = os.path.abspath(args.folder)
    labels = [json.loads(x) for x in open(os.path.join(args.folder, "labels.jsonl"))]
    reference = None
    if args.own_reference:
        benign = {x["account"] for x in labels if not x["campaign"]}
        reference = os.path.join(args.folder, "benign_reference.jsonl")
        with open(reference, "w") as f:
            f.writelines(l for l in open(os.path.join(args.folder, "exchanges.jsonl"))
                         if json.loads(l)["account"] in benign)
    verdicts = {fpr: scan(args.folder, fpr, reference) for fpr in args.fprs}
    kinds = Counter(x["kind"] for x in labels)
    flagged = defaultdict(Counter)
    scores = defaultdict(list)
    reasons = defaultdict(Counter)
    first = verdicts[args.fprs[0]]
    for lab in labels:
        for fpr, v in verdicts.items():
            if v.get(lab["account"], {}).get("flagged"):
                flagged[lab["kind"]][fpr] += 1
        v = first.get(lab["account"])
        if v:
            scores[lab["kind"]].append(v["score"])
            for r in v["reasons"][:2]:
                reasons[lab["kind"]][r["signal"]] += 1
    camp_kinds = sorted({x["kind"] for x in labels if x["campaign"]})
    ben_kinds = sorted({x["kind"] for x in labels if not x["campaign"]})
    head = "| kind | accounts | " + " | ".join(f"flagged @ {f}" for f in args.fprs) + " | median score | max score | top reasons |"
    rows = [head, "|---|---:|" + "---:|" * len(args.fprs) + "---:|---:|---|"]

    def row(k):
        s = sorted(scores[k])
        med = s[len(s) // 2] if s else float("nan")
        top = ", ".join(f"{n} ({c})" for n, c in reasons[k].most_common(3))
        return (f"| {k} | {kinds[k]} | " + " | ".join(str(flagged[k][f]) for f in args.fprs)
                + f" | {med:.2f} | {max(s) if s else float('nan'):.2f} | {top} |")

    rows += [row(k) for k in camp_kinds]
    tot = sum(kinds[k] for k in camp_kinds)
    rows.append("| **all campaigns** | %d | %s | | | |" % (tot, " | ".join(
        str(sum(flagged[k][f] for k in camp_kinds)) for f in args.fprs)))
    rows.append("")
    rows.append(head)
    rows.append("|---|---:|" + "---:|" * len(args.fprs) + "---:|---:|---|")
    rows += [row(k) for k in ben_kinds]
    btot = sum(kinds[k] for k in ben_kinds)
    rows.append("| **all benign (false positives)** | %d | %s | | | |" % (btot, " | ".join(
        str(sum(flagged[k][f] for k in ben_kinds)) for f in args.fprs)))
    table = "\n".join(rows)
    md = ("## Detection by the current DistillShield detector\n\n"
          "`python -m distillshield scan exchanges.jsonl --out verdicts.jsonl --fpr F` (shipped model and "
          "reference threshold), run by `evaluate.py`. Accounts flagged per kind; scores are the "
          f"accounts' best scores at fpr {args.fprs[0]}; reasons are the top-2 signals' counts.\n\n" + table + "\n")
    if args.own_reference:
        md = md.replace("(shipped model and reference threshold)", "(shipped model; threshold from this folder's own "
                        "benign accounts via `--reference`, in-sample)").replace("## Detection by", "## With the operator's own reference: detection by")
    open(os.path.join(args.folder, "detection_ownref.md" if args.own_reference else "detection.md"), "w").write(md)
    print(md)
    if args.write_readme:
        path = os.path.join(args.folder, "README.md")
        marker = "<!-- detection-ownref -->" if args.own_reference else "<!-- detection -->"
        head, _, tail = open(path).read().partition(marker)
        tail = tail.split("<!-- detection", 1)
        rest = ("<!-- detection" + tail[1]) if len(tail) > 1 else ""
        open(path, "w").write(head + marker + "\n\n" + md + "\n" + rest)


if __name__ == "__main__":
    main()
