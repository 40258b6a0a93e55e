"""Would entropy gating (SWEET, Lee et al. 2023) help `kgw`? A probe, two questions.

    python bench/watermark_entropy_probe.py generate --prompts 48 --nulls 600 --out /tmp/entropy.pkl   # ~10 min, 1 thread
    python bench/watermark_entropy_probe.py detect --data /tmp/entropy.pkl
    python bench/watermark_entropy_probe.py distortion --data /tmp/entropy.pkl --answers 24

SWEET marks and scores only the tokens where the model was uncertain. Detection would then need the served model
(a forward pass per text), so it is worth building only if it buys enough.

1. `detect`: score only the positions whose next-token entropy under SmolLM2 (computed from the text alone, as a
   detector would) is above a floor. The selection depends on the text, never on the key, so the binomial p-value
   stays exact. TPR at p <= 1e-3 for `kgw` (default) answers at 50/100/200 tokens and after 30% word edits, and
   the false positives of real unmarked texts under random keys, for each floor.
2. `distortion`: where does `kgw` change the sampling distribution? For each position of the marked answers, the
   KL divergence of the marked from the unmarked temperature-0.7 / top_p-0.95 distribution, binned by the
   position's entropy. Gating generation at low entropy can only save the distortion that sits there.

`generate` writes the answers (SmolLM2 with `kgw`, temperature 0.7 / top_p 0.95, 200 tokens, EOS suppressed, one
account key per answer, as `watermark_eval.py`), their 30%-edited copies, real null texts, and every position's
entropy, for the other two steps.
"""

from __future__ import annotations

import argparse
import pickle
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))

import watermark_eval  # noqa: E402
from watermark_eval import MASTER, chat_prompts, edit_words, generate_batch, load_gguf, null_texts  # noqa: E402

from distillshield.backends.builtin import packaged_model_path  # noqa: E402
from distillshield.watermark import account_key, parse_scheme  # noqa: E402
from distillshield.watermark.schemes import _sampling_support  # noqa: E402

ALPHA = 1e-3
KGW = parse_scheme("kgw")


def position_stats(model, tokenizer, text: str) -> tuple[list[int], dict[str, np.ndarray]]:
    """The text's token ids and, at each position, the entropy (T 1 and 0.7) and top probability of the model's
    distribution for that token given the tokens before it (nan at position 0)."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    with torch.inference_mode():
        logits = model(torch.tensor([ids])).logits[0].float()
    out = {}
    for temperature in (1.0, 0.7):
        log_probs = torch.log_softmax(logits / temperature, -1)
        out[f"H{temperature}"] = (-(log_probs.exp() * log_probs).sum(-1)).numpy()
        out[f"pmax{temperature}"] = log_probs.max(-1).values.exp().numpy()
    return ids, {name: np.concatenate([[np.nan], values[:-1]]) for name, values in out.items()}


def generate(args) -> None:
    torch.set_num_threads(args.threads)
    tokenizer, model = load_gguf(packaged_model_path())
    tokenizer.padding_side = "left"
    watermark_eval.PROMPT_SETS = tuple(args.sets.split(","))
    prompts = chat_prompts(tokenizer, args.prompts)
    config, answers, began = {"name": "kgw", "scheme": KGW}, [], time.time()
    for start in range(0, args.prompts, 16):
        batch = prompts[start:start + 16]
        keys = [account_key(MASTER, f"acct_{start + i}") for i in range(len(batch))]
        ids, _ = generate_batch(model, tokenizer, config, batch, keys, 0.7, 0.95, 200, seed=1000 * start + 7)
        answers += ids
        print(f"{start + len(batch)} answers in {time.time() - began:.0f} s", flush=True)
    texts = [tokenizer.decode(a, skip_special_tokens=True) for a in answers]
    reals = null_texts(tokenizer, args.nulls, 200)
    vocabulary = [w for text in reals for w in text.split() if w.isalpha()]
    rng = random.Random(3)
    edited = [edit_words(text, 0.3, vocabulary, rng) for text in texts]
    data = {"marked": [position_stats(model, tokenizer, t) for t in texts],
            "edited": [position_stats(model, tokenizer, t) for t in edited],
            "null": [position_stats(model, tokenizer, t) for t in reals],
            "keys": [account_key(MASTER, f"acct_{i}") for i in range(len(texts))]}
    Path(args.out).write_bytes(pickle.dumps(data))
    print(f"wrote {args.out} in {time.time() - began:.0f} s")


def gated_p_value(ids, position_values, key, measure: str | None, floor: float, length: int | None = None):
    """kgw's exact p-value over the distinct (previous, token) pairs at the positions the gate keeps."""
    ids = list(ids)[:length] if length else list(ids)
    seen = {}
    for position in range(1, len(ids)):
        if measure:
            value = position_values[measure][position]
            if not (value >= floor if measure.startswith("H") else value <= floor):
                continue
        seen.setdefault((ids[position - 1], ids[position]), position)
    pairs = [((context,), token) for context, token in seen]
    if not pairs:
        return 1.0, 0
    green = KGW.token_values(KGW.pair_hashes(key, pairs)).sum()
    return KGW.score(green, len(pairs)).p_value, len(pairs)


def detect(args) -> None:
    data = pickle.loads(Path(args.data).read_bytes())
    rng = random.Random(0)
    null_keys = [rng.randbytes(32) for _ in data["null"]]
    gates = [(None, 0.0)] + [("H1.0", f) for f in (0.5, 1.0, 1.5, 2.0, 2.5)] + [("H0.7", f) for f in (0.3, 0.6, 1.0, 1.5)] \
        + [("pmax0.7", f) for f in (0.95, 0.9, 0.8, 0.7, 0.6)]
    for measure, floor in gates:
        found = [np.mean([gated_p_value(ids, values, key, measure, floor, length)[0] <= ALPHA
                          for (ids, values), key in zip(data["marked"], data["keys"])]) for length in (50, 100, 200)]
        edited = np.mean([gated_p_value(ids, values, key, measure, floor)[0] <= ALPHA
                          for (ids, values), key in zip(data["edited"], data["keys"])])
        scored = np.mean([gated_p_value(ids, values, key, measure, floor)[1]
                          for (ids, values), key in zip(data["marked"], data["keys"])])
        nulls = np.array([gated_p_value(ids, values, key, measure, floor)[0]
                          for (ids, values), key in zip(data["null"], null_keys)])
        print(f"{str(measure):8} {floor:5} TPR@50/100/200 {found[0]:.2f} {found[1]:.2f} {found[2]:.2f}  after 30% edits "
              f"{edited:.2f}  pairs scored {scored:.0f}  null FP@1e-3 {(nulls <= ALPHA).sum()}/{len(nulls)}  "
              f"KS (greater) p {stats.kstest(nulls, 'uniform', alternative='greater').pvalue:.2f}")


def _sampling(logits: torch.Tensor) -> np.ndarray:
    """The temperature-0.7 / top_p-0.95 distribution over the whole vocabulary (zero outside the nucleus)."""
    tokens, kept = _sampling_support(logits, 0.7, 0.95)
    out = np.zeros(logits.shape[-1])
    out[tokens] = kept
    return out


def distortion(args) -> None:
    torch.set_num_threads(args.threads)
    data = pickle.loads(Path(args.data).read_bytes())
    _, model = load_gguf(packaged_model_path())
    rows = []
    for (ids, _), key in list(zip(data["marked"], data["keys"]))[:args.answers]:
        with torch.inference_mode():
            logits = model(torch.tensor([ids])).logits[0].double()
        for position in range(1, len(ids)):
            raw = logits[position - 1]
            entropy = float(-(torch.softmax(raw, -1) * torch.log_softmax(raw, -1)).sum())
            green = torch.from_numpy(KGW.token_values(KGW.vocab_hashes(key, (ids[position - 1],), raw.shape[0])) > 0)
            plain, marked = _sampling(raw), _sampling(raw + KGW.delta * green.double())
            inside = marked > 0
            unmarked_full = torch.softmax(raw / 0.7, -1).numpy()
            kl = float((marked[inside] * np.log(marked[inside] / np.maximum(unmarked_full[inside], 1e-300))).sum())
            rows.append((entropy, kl, float(marked[plain == 0].sum())))
    table = np.array(rows)
    print(f"{len(table)} positions of {args.answers} answers")
    for low, high in ((0, 0.3), (0.3, 1), (1, 2), (2, 3), (3, 99)):
        at = (table[:, 0] >= low) & (table[:, 0] < high)
        print(f"entropy (T 1) [{low}, {high}) nats: share of positions {at.mean():.2f}, share of the KL "
              f"{table[at, 1].sum() / table[:, 1].sum():.2f}, mean KL {table[at, 1].mean():.3f}, "
              f"marked mass outside the unmarked nucleus {table[at, 2].mean():.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=["generate", "detect", "distortion"])
    parser.add_argument("--prompts", type=int, default=48)
    parser.add_argument("--nulls", type=int, default=600)
    parser.add_argument("--sets", default="alpaca_eval_users.jsonl,arena_hard_v0.1.jsonl")
    parser.add_argument("--answers", type=int, default=24)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="/tmp/entropy.pkl")
    parser.add_argument("--data", default="/tmp/entropy.pkl")
    args = parser.parse_args()
    {"generate": generate, "detect": detect, "distortion": distortion}[args.step](args)


if __name__ == "__main__":
    main()
