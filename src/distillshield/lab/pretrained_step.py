"""The campaign's pretrained students: one per arm, fine-tuned on what that arm's attacker harvested, and one of
another teacher (the same prompts answered by a teacher whose watermark keys we do not hold), then the audit
of each arm's student with the untouched teacher and the other teacher's student as negative controls.

All of them share one copy of the base model: a student is its adapters (``PretrainedStudent.reset`` and
``set_adapter_state``), trained from the same initial adapters and batch order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from distillshield.lab.pretrained import (ChatTokens, PretrainedStudent, SequenceFidelity, load_pretrained, pick,
                                          save_pretrained_student, sequence_fidelity, train_pretrained)
from distillshield.records import Exchange

OTHER_TEACHER = "other-teacher"


@dataclass
class PretrainedResult:
    arm: str                        # off, on, or other-teacher
    path: Path
    before: SequenceFidelity
    after: SequenceFidelity
    loss: list[float]
    seconds: float
    examples: int
    answer_tokens: int
    adapter: dict = field(default_factory=dict, repr=False)
    samples: list[dict] = field(default_factory=list)

    @property
    def gain(self) -> float:
        return self.before.nll - self.after.nll

    @property
    def sequence_gain(self) -> float:
        return self.before.sequence_nll - self.after.sequence_nll

    def as_dict(self, root: Path) -> dict:
        return {"arm": self.arm, "path": str(self.path.relative_to(root)), "gain": round(self.gain, 4),
                "gain_relative": round(self.gain / self.before.nll, 4) if self.before.nll else None,
                "sequence_gain": round(self.sequence_gain, 3),
                "agreement_gain": round(self.after.agreement - self.before.agreement, 4),
                "before": self.before.as_dict(), "after": self.after.as_dict(), "seconds": round(self.seconds, 1),
                "examples": self.examples, "answer_tokens": self.answer_tokens,
                "first_loss": round(self.loss[0], 4) if self.loss else None,
                "final_loss": round(self.loss[-1], 4) if self.loss else None}


def held_out(tokens: ChatTokens, reference: list[Exchange]) -> list[tuple[Exchange, object]]:
    """The held-out teacher answers in the student's tokens, each with its exchange."""
    pairs = []
    for record in reference:
        examples = tokens.examples([record])
        if examples:
            pairs.append((record, examples[0]))
    return pairs


def train_students(config, folder: Path, harvests: dict[str, list[Exchange]], reference: list[Exchange], say,
                   timings: dict, on_progress=None) -> tuple[PretrainedStudent, list[PretrainedResult]]:
    """Load the base model once; per harvest (arm name -> answered exchanges) fine-tune a student from the same
    initial adapters, measure it on the held-out answers, save it to ``students/pretrained-<arm>``."""
    mark = time.perf_counter()
    model, tokens, base = load_pretrained(config.pretrained)
    student = PretrainedStudent(model, tokens, config.pretrained, base)
    timings["pretrained_load"] = time.perf_counter() - mark
    say(f"pretrained student: {base.name} loaded in {timings['pretrained_load']:.0f} s, "
        f"{sum(p.numel() for p in student.adapter_parameters())} adapter parameters")
    pairs = held_out(tokens, reference)
    held = [example for _, example in pairs]
    before = sequence_fidelity(student, held)
    results = []
    for arm, exchanges in harvests.items():
        mark = time.perf_counter()
        student.reset()
        examples = pick(tokens.examples(exchanges), config.pretrained)
        steps = on_progress and (lambda step, _loss, arm=arm: on_progress(step + 1, config.pretrained.steps,
                                                                          f"[{arm}] pretrained student trained"))
        trained = train_pretrained(student, examples, on_step=steps)
        after = sequence_fidelity(student, held)
        path = folder / "students" / f"pretrained-{arm}"
        save_pretrained_student(student, path, arm=arm, examples=len(examples), chat="its own",
                                harvest=f"{arm}/harvest.jsonl")
        (path / "train.json").write_bytes(orjson.dumps({"loss": [round(x, 4) for x in trained.loss],
                                                        "seconds": round(trained.seconds, 2)}))
        result = PretrainedResult(arm, path, before, after, trained.loss, trained.seconds, len(examples),
                                  trained.answer_tokens, adapter=student.adapter_state())
        shown = pairs[:config.samples]
        answers = student.generate([e.prompt_ids for _, e in shown], config.max_tokens)
        result.samples = [{"prompt": r.request["messages"][-1]["content"], "teacher": tokens.decode(e.answer_ids),
                           "student": tokens.decode(a)} for (r, e), a in zip(shown, answers)]
        results.append(result)
        timings[f"train_pretrained_{arm}"] = time.perf_counter() - mark
        say(f"[{arm}] pretrained student: {len(examples)} answers, {config.pretrained.steps} steps in "
            f"{trained.seconds:.0f} s; held-out NLL {before.nll:.3f} -> {after.nll:.3f} nats/token "
            f"(gain {result.gain:.3f}; {result.sequence_gain:.1f} nats per answer)")
    return student, results


def audit_students(config, folder: Path, accounts_of: dict[str, list[str]], results: list[PretrainedResult],
                   student: PretrainedStudent, teacher_tokenizer, settings, timings: dict, say) -> dict[str, dict]:
    """``distillshield audit`` on the last arm's pretrained student, closed mode (its own tokenizer: it is read as a
    model behind an API is), with the untouched teacher and the other teacher's student as negative controls;
    verdict and report in ``audit/pretrained-<arm>``."""
    from distillshield.audit import AuditConfig, Sampling, read_served, run_audit
    from distillshield.audit.controls import choose_scheme
    from distillshield.audit.report import write_report as write_audit
    from distillshield.lab.suspect import PretrainedSuspect, load_negative_control
    from distillshield.watermark import MasterKey

    if not config.audit_prompts:
        return {}
    master = MasterKey.load_or_create(folder / "watermark.key")
    by_arm = {r.arm: r for r in results}
    nulls = {"teacher": load_negative_control("teacher", teacher_tokenizer, model_path=settings.model_path)}
    if OTHER_TEACHER in by_arm:
        other = by_arm[OTHER_TEACHER]
        nulls[f"{OTHER_TEACHER} student"] = PretrainedSuspect(student, adapter=other.adapter, name=other.path.name,
                                                              folder=other.path)
    audits = {}
    # the last arm's student alone (the shields-on one when both run): each audit asks every null again
    for result in (r for r in results if r.arm == list(accounts_of)[-1]):
        mark = time.perf_counter()
        accounts = list(accounts_of[result.arm]) + [f"decoy-{i:03d}" for i in range(config.audit_decoys)]
        served = read_served(folder / result.arm / "gateway.jsonl")
        scheme, source = choose_scheme(served, None, settings.watermark)
        suspect = PretrainedSuspect(student, adapter=result.adapter, name=result.path.name, folder=result.path)
        verdict = run_audit(suspect, tokenizer=teacher_tokenizer, scheme=scheme,
                            keys={a: master.account_keys(a) for a in accounts}, served=served,
                            key_info={"key_id": master.current.key_id, "versions": len(master.versions),
                                      "key_ids": [v.key_id for v in reversed(master.versions)]},
                            config=AuditConfig(modes=["closed"], prompts=config.audit_prompts, seed=config.seed,
                                               sampling=Sampling(max_tokens=config.max_tokens + 32, seed=config.seed)),
                            negative_controls=nulls, scheme_source=source, say=lambda _: None)
        name = f"pretrained-{result.arm}"
        write_audit(verdict, folder / "audit" / name)
        audits[name] = {"outcome": verdict.outcome, "conclusion": verdict.conclusion,
                        "positive_control": verdict.positive_control.to_json(),
                        "combined_p_value": verdict.combined_p_value,
                        "attributed_accounts": verdict.attributed_accounts, "accounts_tested": len(accounts),
                        "negative_controls": {n.name: n.combined_p_value for n in verdict.negative_controls},
                        "tests": [{k: t[k] for k in ("name", "p_value", "tokens_scored")} for t in verdict.tests],
                        "report": f"audit/{name}/report.html"}
        timings[f"audit_{name}"] = time.perf_counter() - mark
        controls = ", ".join(f"{n} p = {p:.3g}" for n, p in audits[name]["negative_controls"].items())
        say(f"[{result.arm}] audit of the pretrained student: {verdict.outcome}; combined p = "
            f"{verdict.combined_p_value:.3g}, {len(verdict.attributed_accounts)} account(s) named; "
            f"negative controls: {controls} ({timings[f'audit_{name}']:.0f} s)")
    return audits


def summary_of(results: list[PretrainedResult], audits: dict, root: Path) -> dict:
    """``summary.json``'s ``pretrained`` part: each student, the gain the shields left, each audit."""
    students = {r.arm: r for r in results}
    out = {"students": {arm: r.as_dict(root) for arm, r in students.items()}, "audit": audits}
    off, on = students.get("off"), students.get("on")
    if off and on:
        out["defence_cost"] = round(off.gain - on.gain, 4)
        out["gain_kept"] = round(on.gain / off.gain, 4) if off.gain else None
        out["sequence_gain_kept"] = round(on.sequence_gain / off.sequence_gain, 4) if off.sequence_gain else None
    return out

