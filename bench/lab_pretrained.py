"""The pretrained student of a finished lab campaign, again: train it (and another teacher's) on the run's harvests
with a [pretrained] configuration of your choice, measure it, audit the last arm's, without harvesting again.

Reads a run folder of ``distillshield lab campaign`` (its manifest's configuration, every arm's ``harvest.jsonl``
and ``accounts.json``, ``reference.jsonl``, ``watermark.key`` and each arm's ``gateway.jsonl``), applies
``--config`` (a campaign TOML: its ``[pretrained]`` table, ``audit_prompts``, ``audit_decoys``...) and writes
the students, ``other-teacher/`` and ``audit/pretrained-<arm>/`` into the run folder (refused when they are
there already), the result to ``<run>/pretrained.json`` and ``--json``.

    python bench/lab_pretrained.py --run RUN_FOLDER [--config FILE] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from distillshield.backends.builtin import packaged_model_path  # noqa: E402
from distillshield.lab.campaign import CampaignConfig, pretrained_students  # noqa: E402
from distillshield.records import Exchange, read_exchanges  # noqa: E402
from distillshield.watermark import load_tokenizer  # noqa: E402


def answered(path: Path) -> list[Exchange]:
    with open(path, "rb") as stream:
        return [r for r in read_exchanges(stream) if isinstance(r, Exchange) and r.status in (None, 200) and r.response]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="a finished campaign's run folder")
    parser.add_argument("--config", help="campaign TOML applied over the run's configuration")
    parser.add_argument("--json", help="write the result here as JSON")
    args = parser.parse_args()
    folder = Path(args.run)
    manifest = json.loads((folder / "manifest.json").read_text())
    config = CampaignConfig.from_dict(manifest["config"])
    if args.config:
        config = CampaignConfig.from_file(args.config, config)
    config.validate()
    if list(folder.glob("students/pretrained-*")) or (folder / "other-teacher").exists():
        sys.exit(f"error: {folder} already holds pretrained students; copy the run folder first")
    arms = [arm for arm in config.shields if (folder / arm / "harvest.jsonl").exists()]
    harvests = {arm: answered(folder / arm / "harvest.jsonl") for arm in arms}
    accounts = {arm: sorted(json.loads((folder / arm / "accounts.json").read_text())) for arm in arms}
    reference = answered(folder / "reference.jsonl")
    settings = config.gateway_settings("off", store_url=str(folder / "reference.db"),
                                       watermark_key_path=str(folder / "watermark.key"))
    tokenizer = load_tokenizer(settings.model_path or str(packaged_model_path()))
    began, timings = time.perf_counter(), {}
    summary = pretrained_students(config, folder, harvests, accounts, reference, settings, tokenizer, timings,
                                  say=lambda line: print(line, file=sys.stderr, flush=True))
    result = {"run": str(folder), "pretrained_config": config.as_dict()["pretrained"],
              "audit_prompts": config.audit_prompts, **summary,
              "timings": {k: round(v, 1) for k, v in timings.items()}, "seconds": round(time.perf_counter() - began, 1)}
    text = json.dumps(result, indent=1) + "\n"
    (folder / "pretrained.json").write_text(text)
    if args.json:
        Path(args.json).write_text(text)
    for arm, student in summary["students"].items():
        print(f"{arm:14} gain {student['gain']:.3f} nats/token, {student['sequence_gain']:.1f} nats/answer "
              f"({student['examples']} answers, {student['seconds']:.0f} s)")
    for name, audit in summary["audit"].items():
        print(f"{name}: {audit['outcome']}, combined p {audit['combined_p_value']:.3g}, named "
              f"{[a['account'] for a in audit['attributed_accounts']]}; nulls {audit['negative_controls']}")


if __name__ == "__main__":
    main()
