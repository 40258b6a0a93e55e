"""The audit against students of one lab harvest, trained for more or fewer steps.

    distillshield lab campaign --shields off --name default-off          # the default harvest (about 7 min)
    python bench/audit_lab_student.py --run runs/default-off --steps 160,640,1280 [--threads 2]
                                      [--canary-accounts 2] [--json bench/results/audit_lab_student.json]

For each step count, a sequence-level student (the lab's default shape and training settings, only the
number of steps changed) is trained from scratch on the run's harvest (`<run>/off/harvest.jsonl`, or the
first arm found) and audited as the lab audits: the keys of the arm's accounts plus 120 decoy accounts that
harvested nothing (the run's `watermark.key`), open mode reading 256 of the served answers and the run's
held-out unmarked reference answers, closed mode answering 32 served prompts with 72 tokens (the lab's
answer length plus 32, as the lab's audit does). 160 steps is the lab's default; the default harvest
spreads 300-odd answers over 8 accounts' keys, so no one key stands out and the pooled tests carry the
evidence.

`--canary-accounts N` first ends the answers of the harvest's first N accounts with their canaries, as the
gateway serves a hardened account's answers (`canary` setting), so the canary test has something to find.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from distillshield.audit import AuditConfig, Sampling, read_reading_texts, read_served, run_audit  # noqa: E402
from distillshield.backends.builtin import packaged_model_path  # noqa: E402
from distillshield.lab.campaign import CampaignConfig, Tokens  # noqa: E402
from distillshield.lab.student import Student, TrainConfig, fidelity, train  # noqa: E402
from distillshield.lab.suspect import StudentSuspect  # noqa: E402
from distillshield.records import BadLine, read_exchanges, write_exchanges  # noqa: E402
from distillshield.watermark import MasterKey, load_tokenizer, parse_scheme  # noqa: E402
from distillshield.watermark.canary import canary_phrase, canary_suffix  # noqa: E402


def exchanges_in(path: Path) -> list:
    return [r for r in read_exchanges(path.read_text().splitlines()) if not isinstance(r, BadLine)]


def with_canaries(harvest: Path, master: MasterKey, count: int, out: Path) -> Path:
    """The harvest with the answers of its first ``count`` accounts ending in their canaries."""
    records = exchanges_in(harvest)
    hardened = sorted({r.account for r in records})[:count]
    for record in records:
        message = (record.response or {}).get("choices", [{}])[0].get("message")
        if record.account in hardened and isinstance(message, dict) and isinstance(message.get("content"), str):
            message["content"] += canary_suffix(canary_phrase(master.account_keys(record.account)[0]))
    with open(out, "wb") as handle:
        write_exchanges(handle, records)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="a lab run folder (with watermark.key and reference.jsonl)")
    parser.add_argument("--steps", default="160,640")
    parser.add_argument("--decoys", type=int, default=120)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--canary-accounts", type=int, default=0)
    parser.add_argument("--json", default="bench/results/audit_lab_student.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    run = Path(args.run)
    harvest = next(p for p in (run / "off" / "harvest.jsonl", *sorted(run.glob("*/harvest.jsonl"))) if p.exists())
    defaults = CampaignConfig()
    tokens = Tokens(load_tokenizer(str(packaged_model_path())))
    master = MasterKey.load(run / "watermark.key")
    if args.canary_accounts:
        harvest = with_canaries(harvest, master, args.canary_accounts, run / "harvest-canaries.jsonl")
    examples = tokens.examples(exchanges_in(harvest), soft=False)
    held = tokens.examples(exchanges_in(run / "reference.jsonl"), soft=False)
    served = read_served(harvest)
    accounts = served.accounts + [f"decoy-{i:03d}" for i in range(args.decoys)]
    keys = {a: master.account_keys(a) for a in accounts}
    reading = read_reading_texts(run / "reference.jsonl")
    rows = []
    for steps in [int(s) for s in args.steps.split(",")]:
        model = Student(defaults.student)
        settings = TrainConfig(**{**asdict(defaults.train), "steps": steps})
        began = time.perf_counter()
        train(model, examples, settings, mode="sequence")
        trained_s = time.perf_counter() - began
        verdict = run_audit(StudentSuspect(model, tokens, name=f"student-{steps}"), keys=keys,
                            scheme=parse_scheme("kgw"), tokenizer=tokens.tokenizer, served=served, reading=reading,
                            config=AuditConfig(prompts=defaults.audit_prompts, seed=defaults.seed,
                                               sampling=Sampling(max_tokens=defaults.max_tokens + 32, seed=defaults.seed)),
                            say=lambda _: None)
        tests = {t["name"]: {"p_value": t["p_value"], "tokens_scored": t["tokens_scored"], "account": t.get("account")}
                 for t in verdict["tests"]}
        row = {"steps": steps, "epochs": round(steps * settings.batch_size / len(examples), 1),
               "held_out_nll": round(fidelity(model, held).nll, 3), "train_s": round(trained_s, 1),
               "combined_p_value": verdict["combined_p_value"], "tests": tests,
               "attributed": [a["account"] for a in verdict["attributed_accounts"]]}
        rows.append(row)
        print(f"{steps} steps ({row['epochs']} epochs, held-out NLL {row['held_out_nll']}): combined p "
              f"{row['combined_p_value']:.3g}; " + "; ".join(f"{n} {t['p_value']:.3g} ({t['tokens_scored']})"
                                                            for n, t in tests.items()), flush=True)
    result = {"run": str(run), "harvest": str(harvest), "answers": len(examples), "accounts": served.accounts,
              "canary_accounts": served.accounts[:args.canary_accounts],
              "keys_tested": len(keys), "rows": rows}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
