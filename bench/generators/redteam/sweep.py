#!/usr/bin/env python3
"""Volume frontier: campaign-only traffic at several --intensity values in one file, scanned once.

    sweep.py OUTDIR --scale 0.2 --intensities 1 2 4 8
Prints, per strategy and intensity, accounts flagged at fpr 0.001 / 0.01 and harvest tokens per account.
"""
import argparse, json, os, subprocess
from collections import defaultdict
HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/work/main/.venv/bin/python"
ap = argparse.ArgumentParser()
ap.add_argument("out"); ap.add_argument("--scale", type=float, default=0.2)
ap.add_argument("--intensities", type=float, nargs="+", default=[1, 2, 4, 8])
ap.add_argument("--seed", type=int, default=11)
a = ap.parse_args()
out = os.path.abspath(a.out); os.makedirs(out, exist_ok=True)
recs, kind_of, harvest = [], {}, {}
for i, x in enumerate(a.intensities):
    d = os.path.join(out, f"i{x}")
    subprocess.run([PY, os.path.join(HERE, "generate.py"), "--out", d, "--seed", str(a.seed + i), "--scale",
                    str(a.scale), "--intensity", str(x), "--campaigns-only"], check=True)
    for l in open(os.path.join(d, "labels.jsonl")):
        lab = json.loads(l); kind_of[lab["account"]] = (lab["kind"], x)
    for l in open(os.path.join(d, "exchanges.jsonl")):
        recs.append((json.loads(l)["ts"], l))
recs.sort()
with open(os.path.join(out, "all.jsonl"), "w") as f:
    f.writelines(l for _, l in recs)
res = defaultdict(lambda: defaultdict(int))
for fpr in (0.001, 0.01):
    v = os.path.join(out, f"v{fpr}.jsonl")
    subprocess.run([PY, "-m", "distillshield", "scan", os.path.join(out, "all.jsonl"), "--out", v, "--fpr", str(fpr)],
                   cwd="/work/main", check=True, stderr=subprocess.DEVNULL)
    for l in open(v):
        r = json.loads(l); k = kind_of[r["account"]]
        res[k][fpr] += r["flagged"]; res[k]["n"] += (fpr == 0.001)
        if fpr == 0.001:
            res[k]["req"] += r["requests"]; res[k]["smax"] = max(res[k].get("smax", -99), r["score"])
lines = ["| strategy | intensity | accounts | requests per account | flagged @ 0.001 | flagged @ 0.01 | max score |",
         "|---|---:|---:|---:|---:|---:|---:|"]
for k in sorted(res, key=lambda k: (k[0], k[1])):
    r = res[k]
    lines.append(f"| {k[0]} | x{k[1]:g} | {r['n']} | {r['req'] / max(1, r['n']):.0f} | {r[0.001]} | {r[0.01]} | {r['smax']:.2f} |")
    print(f"{k[0]:22s} x{k[1]:<4} accts {r['n']:3d}  flagged@.001 {r[0.001]:3d}  @.01 {r[0.01]:3d}  "
          f"req/acct {r['req'] / max(1, r['n']):7.0f}  max score {r['smax']:.2f}")
md = ("## Volume frontier\n\nCampaign-only traffic (scale %g) at %s times each strategy's default per-account volume, "
      "scanned together (`sweep.py`); flagged accounts per strategy.\n\n" % (a.scale, ", ".join(f"{x:g}" for x in a.intensities))
      + "\n".join(lines) + "\n")
open(os.path.join(HERE, "frontier.md"), "w").write(md)
