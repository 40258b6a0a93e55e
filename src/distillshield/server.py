"""Putting the gateway together and running it: backend choice, first-start keys, uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from distillshield.backends import Backend
from distillshield.gateway import Gateway
from distillshield.records import Settings
from distillshield.store import Store

log = logging.getLogger("distillshield")


def make_backend(settings: Settings) -> Backend:
    if settings.upstream_url:
        from distillshield.backends.upstream import UpstreamBackend
        return UpstreamBackend(settings.upstream_url, api_key=settings.upstream_key,
                               timeout=settings.upstream_timeout, connect_timeout=settings.upstream_connect_timeout)
    from distillshield.backends.builtin import BuiltinBackend
    return BuiltinBackend(model_path=settings.model_path or None, max_batch_size=settings.builtin_max_batch,
                          logits_processor_factory=watermark_factory(settings))


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
    gateway = Gateway(settings, store, make_backend(settings), canary_of=canary_factory(settings),
                      watermark_of=watermark_record(settings))
    where = settings.upstream_url or "the built-in model"
    log.info("serving %s on http://%s:%s (store: %s)", where, settings.host, settings.port, settings.store_url)
    uvicorn.run(gateway.app, host=settings.host, port=settings.port, loop="uvloop", http="httptools",
                log_level="warning", access_log=False, timeout_graceful_shutdown=30, lifespan="on")
