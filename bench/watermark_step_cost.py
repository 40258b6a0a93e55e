"""What marking adds to one decoding step of the built-in backend, measured piece by piece.

    python bench/watermark_step_cost.py [--rows 8] [--steps 96] [--repeats 9] [--threads 2]
                                        [--ours "kgw;expmin;tournament;kgw:delta=3,repeats=0"]
                                        [--json bench/results/watermark_step_cost.json]

`watermark_serving.py` times whole requests; on a machine whose speed swings by a factor of two from one
minute to the next (as this one's does) its ratios carry several points of noise. This bench times the two
parts of a decoding step separately, each many times and interleaved, and takes medians:

* the model's step: one forward pass of SmolLM2-135M-Instruct for `--rows` rows with their KV cache, at
  the context lengths of the answers below;
* choosing each row's next token from its logits, with the backend's own code (`BuiltinBackend._next_token`):
  the plain sampler for an unmarked row, the scheme's hook then the sampler for `kgw`, the scheme's own
  pick for `expmin` and `tournament`. The logits are real: `--steps` decoding steps of `--rows` long-story
  answers at temperature 0.7 / top_p 0.95.

The speed of a marked configuration relative to unmarked serving is then

    (step + rows x choose(unmarked)) / (step + rows x choose(scheme))

with every term measured in this run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from watermark_serving import long_prompts  # noqa: E402

from distillshield.backends.builtin import BuiltinBackend, _Job, _Row  # noqa: E402
from distillshield.watermark import RowWatermark, account_key, parse_scheme  # noqa: E402

MASTER = b"c" * 32


def decode_logits(backend, prompts: list[str], steps: int) -> tuple[list[list[int]], list[torch.Tensor], float]:
    """Answer the prompts together for ``steps`` tokens; the logits of every step, and the median step time."""
    model = backend.model
    rows = [backend._prompt_ids({"messages": [{"role": "user", "content": p}]}, chat=True) for p in prompts]
    width = max(map(len, rows))
    pad = backend.pad_id
    input_ids = torch.tensor([[pad] * (width - len(r)) + r for r in rows])
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows])
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    generator = torch.Generator().manual_seed(0)
    step_seconds, all_logits = [], []
    with torch.inference_mode():
        out = model(input_ids=input_ids, attention_mask=mask, position_ids=positions, use_cache=True)
        for _ in range(steps):
            logits = out.logits[:, -1, :]
            all_logits.append(logits.clone())
            probs = torch.softmax(logits / 0.7, -1)
            next_ids = torch.multinomial(probs, 1, generator=generator)
            for row, token in zip(rows, next_ids[:, 0].tolist()):
                row.append(token)
            mask = torch.cat([mask, torch.ones(len(rows), 1, dtype=mask.dtype)], dim=1)
            positions = positions[:, -1:] + 1
            began = time.perf_counter()
            out = model(input_ids=next_ids, attention_mask=mask, position_ids=positions,
                        past_key_values=out.past_key_values, use_cache=True)
            step_seconds.append(time.perf_counter() - began)
    return rows, all_logits, statistics.median(step_seconds)


def choose_seconds(backend, hook_of, rows: list[list[int]], all_logits: list[torch.Tensor], prompt_lens: list[int]) -> float:
    """Seconds to choose every row's token at every step through ``BuiltinBackend._next_token``, per choice."""
    job = _Job(events=None, loop=None)
    made = [_Row(index=i, prompt_ids=row[:prompt_lens[i]], max_tokens=10 ** 6, temperature=0.7, top_p=0.95, stops=[],
                 generator=torch.Generator().manual_seed(i), logprobs=None, hook=hook_of(i), emit=lambda e: None,
                 job=job) for i, row in enumerate(rows)]
    began = time.perf_counter()
    for step, logits in enumerate(all_logits):
        for i, row in enumerate(made):
            row.ids = rows[i][prompt_lens[i]:prompt_lens[i] + step]
            backend._next_token(row, logits[i])
    return (time.perf_counter() - began) / (len(all_logits) * len(made))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--steps", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ours", type=lambda s: [x for x in s.split(";") if x],
                        default=["kgw", "expmin", "tournament", "kgw:delta=3,repeats=0"])
    parser.add_argument("--json", default="bench/results/watermark_step_cost.json")
    args = parser.parse_args()

    backend = BuiltinBackend(max_batch_size=args.rows, threads=args.threads)
    backend._load()   # sets the torch threads too
    prompts = long_prompts(args.rows)
    prompt_lens = [len(backend._prompt_ids({"messages": [{"role": "user", "content": p}]}, chat=True)) for p in prompts]
    steps_s = []
    for _ in range(3):
        rows, all_logits, step = decode_logits(backend, prompts, args.steps)
        steps_s.append(step)
    configs = {"none": None, **{spec: parse_scheme(spec) for spec in args.ours}}

    def hooks(scheme):
        if scheme is None:
            return lambda i: None
        return lambda i: RowWatermark(scheme, account_key(MASTER, f"acct-{i}"), temperature=0.7, top_p=0.95, seed=i)

    times: dict[str, list[float]] = {name: [] for name in configs}
    with torch.inference_mode():
        for _ in range(args.repeats):   # interleaved, so a slow moment of the machine falls on all alike
            for name, scheme in configs.items():
                times[name].append(choose_seconds(backend, hooks(scheme), rows, all_logits, prompt_lens))
    step = statistics.median(steps_s)
    choose = {name: statistics.median(t) for name, t in times.items()}
    base = step + args.rows * choose["none"]
    results = {name: {"choose_ms_per_row": choose[name] * 1e3, "extra_ms_per_row": (choose[name] - choose["none"]) * 1e3,
                      "speed_vs_unmarked": base / (step + args.rows * choose[name]), "runs_ms": [t * 1e3 for t in times[name]]}
               for name in configs}
    report = {"settings": vars(args), "model_step_ms": step * 1e3, "model_step_runs_ms": [s * 1e3 for s in steps_s],
              "results": results}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2))
    print(f"model step, {args.rows} rows: {step * 1e3:.1f} ms (median; runs {', '.join(f'{s * 1e3:.1f}' for s in steps_s)})")
    print("| configuration | choosing a token, ms a row | extra over unmarked | speed × unmarked |\n|---|---:|---:|---:|")
    for name, row in results.items():
        print(f"| {name} | {row['choose_ms_per_row']:.3f} | {row['extra_ms_per_row']:+.3f} | {row['speed_vs_unmarked']:.3f} |")


if __name__ == "__main__":
    main()
