"""The audit's null on real pairs, with many keys: the untouched teacher's open-mode choices, scored with N keys.

    python bench/audit_null_keys.py [--keys 4000] [--texts 200] [--json bench/results/audit_null_keys.json]

Reads the teacher answers `bench/audit_eval.py` generated and cached under runs/ (run that first): the
untouched teacher (SmolLM2-135M) reads `--texts` held-out unmarked answers; its next-token predictions are
collected as the audit's open mode does (contexts filtered to those of the marked answers, each pair once,
pairs already read left out) and scored with `--keys` random account keys. Under the null those p-values
(randomised within the binomial's steps) are exactly uniform: a Kolmogorov-Smirnov test and the counts at
1e-3 and 1e-2 check it on one fixed set of real pairs with far more keys than `audit_eval.py` uses.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from distillshield.audit import PairTape, TransformersSuspect, contexts_of, score_pairs  # noqa: E402
from distillshield.backends.builtin import packaged_model_path  # noqa: E402
from distillshield.watermark import account_key, load_tokenizer, parse_scheme, tokenize  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=4000)
    parser.add_argument("--texts", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    scheme = parse_scheme("kgw")
    cached = {name: sorted((ROOT / "runs").glob(f"audit-bench-{name}-*-{scheme.spec}.json")) for name in ("marked", "reading")}
    if not all(cached.values()):
        raise SystemExit("run bench/audit_eval.py first: it generates and caches the teacher's answers under runs/")
    marked, reading = (json.loads(cached[name][-1].read_text()) for name in ("marked", "reading"))
    tokenizer = load_tokenizer(str(packaged_model_path()))
    items = [([], tokenize(text, tokenizer)) for text in reading[:args.texts]]
    predictions = TransformersSuspect(packaged_model_path(), tokenizer).predict(items)
    tape = PairTape(scheme.context_width, contexts_of([tokenize(a, tokenizer) for a in marked], scheme.context_width))
    for (_, ids), predicted in zip(items, predictions):
        tape.offer_predictions(ids, predicted)
    pairs = tape.scored()
    rng = np.random.default_rng(0)
    p_values = []
    for index in range(args.keys):
        result = score_pairs(pairs, account_key(b"null-check" + bytes(22), f"key-{index}"), scheme)
        p_values.append(scheme.randomized_p_value(result.statistic, result.tokens_scored, rng.random()))
    results = {"pairs": len(pairs), "keys": args.keys, "ks_p": float(stats.kstest(p_values, "uniform").pvalue),
               "mean_p": float(np.mean(p_values)), "at_1e-3": sum(p <= 1e-3 for p in p_values),
               "at_1e-2": sum(p <= 1e-2 for p in p_values)}
    print(f"{results['pairs']} pairs, {args.keys} keys: KS p = {results['ks_p']:.3f}, mean p = {results['mean_p']:.4f}, "
          f"p <= 1e-3: {results['at_1e-3']} (expected {args.keys / 1000:.1f}), "
          f"p <= 1e-2: {results['at_1e-2']} (expected {args.keys / 100:.0f})")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
