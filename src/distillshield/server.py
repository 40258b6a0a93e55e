"""Putting the gateway together and running it: backend choice, first-start keys, uvicorn."""

from __future__ import annotations

import logging
import os
import signal
import threading

import uvicorn

from distillshield.backends import Backend
from distillshield.errors import ConfigError
from distillshield.gateway import Gateway
from distillshield.records import Settings
from distillshield.store import Store

log = logging.getLogger("distillshield")

# proxy_headers off: uvicorn would otherwise take X-Forwarded-For from any client on 127.0.0.1; the gateway
# reads that header itself, and only when trust_forwarded_for is set. No Server header: nothing to fingerprint.
UVICORN_OPTIONS = {"proxy_headers": False, "server_header": False}


def make_backend(settings: Settings) -> Backend:
    proxy = antidistill_proxy(settings)
    if settings.upstream_url:
        from distillshield.backends.upstream import UpstreamBackend
        return UpstreamBackend(settings.upstream_url, api_key=upstream_key(settings),
                               timeout=settings.upstream_timeout, connect_timeout=settings.upstream_connect_timeout)
    from distillshield.backends.builtin import BuiltinBackend
    return BuiltinBackend(model_path=settings.model_path or None, max_batch_size=settings.builtin_max_batch,
                          logits_processor_factory=watermark_factory(settings),
                          default_max_tokens=settings.default_max_tokens,
                          max_output_tokens=settings.builtin_max_output_tokens,
                          antidistill_proxy=proxy,
                          antidistill_strength=settings.policy_harden_antidistill)


def antidistill_proxy(settings: Settings) -> str:
    """The proxy folder of antidistillation sampling, or "" when it is off; a ConfigError when it is asked for
    but cannot be done (no proxy, a missing folder, an upstream backend, whose sampling this gateway does not do)."""
    if settings.policy_harden_antidistill <= 0:
        return ""
    if settings.upstream_url:
        raise ConfigError("setting policy_harden_antidistill: antidistillation sampling needs the built-in model; "
                          "an upstream samples its own answers (set it to 0, or unset upstream_url)")
    folder = settings.policy_harden_antidistill_proxy
    if not folder:
        raise ConfigError("setting policy_harden_antidistill needs policy_harden_antidistill_proxy: the folder of "
                          "a proxy student (made by `distillshield lab proxy`)")
    if not os.path.isdir(folder):
        raise ConfigError(f"setting policy_harden_antidistill_proxy: {folder} is not a folder")
    return folder


def upstream_key(settings: Settings) -> str:
    """The upstream's API key: the setting, or else the first line of ``upstream_key_file``."""
    if settings.upstream_key or not settings.upstream_key_file:
        return settings.upstream_key
    path = settings.upstream_key_file
    try:
        with open(path, encoding="utf-8") as handle:
            key = handle.readline().strip()
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise ConfigError(f"setting upstream_key_file: cannot read {path}: {exc.strerror}") from None
    if not key:
        raise ConfigError(f"setting upstream_key_file: {path} holds no key on its first line")
    if mode & 0o077:
        log.warning("the upstream key file %s can be read by other users (mode %o); chmod 600 it", path, mode & 0o777)
    return key


def watermark_factory(settings: Settings):
    """The built-in model's watermark hook (every answer marked with its account's key), or None when off.

    The master key file is created on first start."""
    if settings.watermark == "off":
        return None
    from distillshield.watermark import MasterKey, key_path, parse_scheme, serving_hook_factory
    scheme = parse_scheme(settings.watermark)
    hardened = parse_scheme(settings.watermark_hardened) if settings.watermark_hardened else None
    master = MasterKey.load_or_create(key_path(settings.watermark_key_path, settings.store_url))
    log.info("watermarking answers with %s, hardened accounts' with %s (master key %s)", scheme.spec,
             (hardened or scheme).spec, master.current.key_id)
    return serving_hook_factory(scheme, master, hardened)


def watermark_record(settings: Settings):
    """``hardened -> {scheme, key_id}``: what the traffic log records of the mark on an answer (the audit reads it
    back to know which scheme and key to test), or None where no answer is marked (watermark off, or an upstream
    backend, which this gateway does not mark). The key id is that of the master key the hook was made with."""
    if settings.watermark == "off" or settings.upstream_url:
        return None
    from distillshield.watermark import MasterKey, key_path, parse_scheme
    master = MasterKey.load_or_create(key_path(settings.watermark_key_path, settings.store_url))
    plain = parse_scheme(settings.watermark).spec
    hardened = parse_scheme(settings.watermark_hardened).spec if settings.watermark_hardened else plain
    records = {False: {"scheme": plain, "key_id": master.current.key_id},
               True: {"scheme": hardened, "key_id": master.current.key_id}}
    return records.__getitem__


def canary_factory(settings: Settings):
    """Account id -> the canary its hardened answers end with (keyed by the master key), or None when off."""
    if not settings.canary:
        return None
    from functools import lru_cache

    from distillshield.watermark import MasterKey, key_path
    from distillshield.watermark.canary import canary_phrase, canary_suffix
    master = MasterKey.load_or_create(key_path(settings.watermark_key_path, settings.store_url))

    @lru_cache(maxsize=65536)
    def canary_of(account: str) -> str:
        return canary_suffix(canary_phrase(master.account_keys(account)[0]))
    return canary_of


def build_gateway(settings: Settings, store: Store, backend: Backend | None = None, *, detector_model=None,
                  embedder="auto") -> Gateway:
    """The one way a gateway is put together, for `serve`, the lab and the tests: the backend the settings
    name (unless one is given), hardened accounts' canaries and the record of the watermark applied, both
    keyed by the master key."""
    return Gateway(settings, store, backend if backend is not None else make_backend(settings),
                   detector_model=detector_model, embedder=embedder, canary_of=canary_factory(settings),
                   watermark_of=watermark_record(settings))


def bootstrap_keys(settings: Settings, store: Store) -> dict[str, str] | None:
    """On first start (no accounts yet), create an admin and a user account with one key each."""
    if store.list_accounts():
        return None
    store.create_account("admin", is_admin=True, rpm=0, tpm=0, concurrency=0, tpd=0)
    store.create_account("default", rpm=settings.default_rpm, tpm=settings.default_tpm,
                         concurrency=settings.default_concurrency, tpd=settings.default_tpd)
    _, admin_key = store.create_key("admin", label="first start")
    _, user_key = store.create_key("default", label="first start")
    return {"admin": admin_key, "user": user_key}


def first_start_banner(keys: dict[str, str], settings: Settings) -> str:
    base = f"http://{settings.host}:{settings.port}"
    return f"""
DistillShield: first start. These keys are shown ONCE and stored only as hashes.

  admin key (admin API, /metrics):  {keys['admin']}
  user key  (account "default"):    {keys['user']}

Try it:
  curl {base}/v1/chat/completions \\
    -H "Authorization: Bearer {keys['user']}" -H "Content-Type: application/json" \\
    -d '{{"model": "any", "messages": [{{"role": "user", "content": "Say hello"}}], "max_tokens": 32}}'

  python -c "from openai import OpenAI; c = OpenAI(base_url='{base}/v1', api_key='{keys['user']}'); \\
print(c.chat.completions.create(model='any', messages=[{{'role': 'user', 'content': 'Say hello'}}], max_tokens=32).choices[0].message.content)"

More keys:  distillshield keys create --account default
"""


def run_server(settings: Settings, store: Store) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    keys = bootstrap_keys(settings, store)
    if keys:
        print(first_start_banner(keys, settings), flush=True)
    gateway = build_gateway(settings, store)
    where = settings.upstream_url or "the built-in model"
    log.info("serving %s on http://%s:%s (store: %s)", settings.shown("upstream_url") if settings.upstream_url
             else where, settings.host, settings.port, settings.shown("store_url"))
    uvicorn.run(gateway.app, host=settings.host, port=settings.port, loop="uvloop", http="httptools",
                log_level="warning", access_log=False, timeout_graceful_shutdown=30, lifespan="on",
                **UVICORN_OPTIONS)


def run_detector(settings: Settings, store: Store, *, stop=None) -> None:
    """The one detector of a group of replicas: reads the shared log, publishes levels to Redis, records
    level changes as policy events and alerts (once, here, not in every replica)."""
    import redis

    from distillshield.detect.live import RiskScorer
    from distillshield.detect.service import DetectorService
    from distillshield.gateway.alerts import AlertSender
    from distillshield.gateway.metrics import GatewayMetrics
    from distillshield.detect.feedback import feedback_from_accounts
    from distillshield.gateway.detection import detector_parts, level_fprs
    from distillshield.gateway.policy import Policy

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not settings.redis_url:
        raise ConfigError("distillshield detector publishes levels in Redis: set redis_url")
    parts = detector_parts(settings)
    if parts is None:
        raise ConfigError("distillshield detector has nothing to do: detection is off or there is no detector model")
    model, levels, embedder = parts
    policy = Policy(settings, store, GatewayMetrics(lambda: 0))
    if settings.alert_webhook_url:
        policy.alerts = AlertSender(settings.alert_webhook_url, on_result=policy.on_alert_result)
        policy.alerts.start()
    scorer = RiskScorer(model, levels, embedder=embedder, link_every=max(1, settings.detect_link_every),
                        fprs=level_fprs(settings), feedback=lambda: feedback_from_accounts(store.list_accounts()))
    service = DetectorService(store, redis.Redis.from_url(settings.redis_url), scorer, prefix=settings.redis_prefix,
                              on_change=policy.on_level_change, replay_hours=settings.detect_replay_hours)
    stop = stop or threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    log.info("detector: reading %s, publishing levels to %s (%s)", settings.shown("store_url"),
             settings.shown("redis_url"), ", ".join(f"{name} >= {threshold:.3f}" for name, threshold in levels))
    try:
        service.run(stop)
    finally:
        if policy.alerts is not None:
            policy.alerts.close()
