"""Suspect models, behind one small interface: answer prompts (closed mode) and, where we can read the
model's next-token predictions in our tokenizer, predict (open mode).

* ``TransformersSuspect``: a local model, a transformers folder or a GGUF file. Open mode needs its
  tokenizer to be ours (the same vocabulary, id for id); otherwise only closed mode runs.
* ``EndpointSuspect``: an OpenAI-compatible ``/v1/chat/completions`` endpoint. Closed mode only.
* Anything else with the same methods (the lab's students: ``lab.suspect``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from distillshield.errors import ConfigError, UpstreamError
from distillshield.models import load_causal_lm, load_tokenizer
from distillshield.records import option


@dataclass(frozen=True)
class Sampling:
    max_tokens: int = option(64, "Closed mode: answer length.", bounds=(1, None))
    temperature: float = option(0.7, "Closed mode: the suspect's sampling temperature.", bounds=(0.0, None))
    top_p: float = option(0.95, "Closed mode: the suspect's nucleus.", bounds=(0.0, 1.0))
    seed: int = option(0, "Closed mode: the suspect's sampling seed.")


class Suspect(Protocol):
    name: str

    def describe(self) -> dict: ...                                         # what the report names: kind, path, hashes
    def reads_our_tokens(self) -> bool: ...                                 # open mode possible
    def predict(self, items: list[tuple[list[dict], list[int]]]) -> list[list[int]]: ...
    # for each (prompt messages, text ids): its top-1 next token after the prompt and text[:j + 1], for every j
    def answer(self, prompts: list[list[dict]], sampling: Sampling) -> list[str]: ...
    # optional, where the weights can be read (the open canary test):
    # continuation_logprobs(messages, prefix ids, [continuation ids]) -> log P(continuation | prompt, prefix) each


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def vocabulary_digest(tokenizer) -> str:
    """A hash of a tokenizer's vocabulary (token string -> id): equal digests, equal token ids."""
    items = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    return hashlib.sha256("\n".join(f"{token}\t{index}" for token, index in items).encode()).hexdigest()


class TransformersSuspect:
    """A local causal LM: a folder transformers can load, or a ``.gguf`` file."""

    def __init__(self, path: str | Path, our_tokenizer, *, threads: int | None = None, batch_size: int = 8):
        import torch

        self.path = Path(path)
        if not self.path.exists():
            raise ConfigError(f"suspect model {self.path} does not exist")
        if threads:
            torch.set_num_threads(threads)
        try:
            self.tokenizer = load_tokenizer(self.path)
            self.model = load_causal_lm(self.path)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load suspect model {self.path}: {exc}") from None
        self.name = self.path.name
        self.batch_size = batch_size
        self._ours = vocabulary_digest(self.tokenizer) == vocabulary_digest(our_tokenizer)
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token

    def describe(self) -> dict:
        files = [self.path] if self.path.is_file() else sorted(
            p for p in self.path.iterdir() if p.suffix in (".safetensors", ".bin", ".gguf", ".json"))
        return {"kind": "local model", "path": str(self.path), "tokenizer": "ours" if self._ours else "its own",
                "sha256": {p.name: file_sha256(p) for p in files}}

    def reads_our_tokens(self) -> bool:
        return self._ours

    def predict(self, items: list[tuple[list[dict], list[int]]]) -> list[list[int]]:
        import torch

        out = []
        with torch.no_grad():
            for messages, ids in items:
                prompt = self.tokenizer(self._prompt_text(messages), add_special_tokens=False)["input_ids"] \
                    if messages else []
                logits = self.model(torch.tensor([prompt + list(ids)])).logits[0]
                out.append(logits[len(prompt):].argmax(-1).tolist())
        return out

    def continuation_logprobs(self, messages: list[dict], prefix: list[int],
                              continuations: list[list[int]]) -> list[float]:
        import torch

        prompt = self.tokenizer(self._prompt_text(messages), add_special_tokens=False)["input_ids"] if messages else []
        rows = [prompt + list(prefix) + list(c) for c in continuations]
        width = max(map(len, rows))
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.tensor([row + [pad] * (width - len(row)) for row in rows])
        mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in rows])
        with torch.no_grad():
            log_probs = torch.log_softmax(self.model(input_ids=ids, attention_mask=mask).logits.float(), -1)
        start = len(prompt) + len(prefix)
        return [float(sum(log_probs[r, start + j - 1, token] for j, token in enumerate(c)))
                for r, c in enumerate(continuations)]

    def answer(self, prompts: list[list[dict]], sampling: Sampling) -> list[str]:
        import torch

        torch.manual_seed(sampling.seed)
        answers = []
        self.tokenizer.padding_side = "left"
        for start in range(0, len(prompts), self.batch_size):
            texts = [self._prompt_text(messages) for messages in prompts[start:start + self.batch_size]]
            batch = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.no_grad():
                output = self.model.generate(**batch, do_sample=True, temperature=sampling.temperature,
                                             top_p=sampling.top_p, max_new_tokens=sampling.max_tokens,
                                             pad_token_id=self.tokenizer.pad_token_id)
            new = output[:, batch["input_ids"].shape[1]:]
            answers += self.tokenizer.batch_decode(new, skip_special_tokens=True)
        return answers

    def _prompt_text(self, messages: list[dict]) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return "\n\n".join(m["content"] for m in messages) + "\n\n"


class EndpointSuspect:
    """An OpenAI-compatible API: ``url`` is its base (``https://host/v1``), ``model`` the model name."""

    def __init__(self, url: str, model: str, api_key: str = "", *, timeout: float = 120.0):
        import httpx

        self.url = url.rstrip("/")
        self.model = model
        self.name = f"{model} at {self.url}"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def describe(self) -> dict:
        return {"kind": "endpoint", "url": self.url, "model": self.model, "tokenizer": "unknown (closed mode only)"}

    def reads_our_tokens(self) -> bool:
        return False

    def predict(self, items: list[tuple[list[dict], list[int]]]) -> list[list[int]]:
        raise ConfigError("an endpoint does not expose next-token predictions: open mode needs the weights")

    def answer(self, prompts: list[list[dict]], sampling: Sampling) -> list[str]:
        import httpx

        answers = []
        for index, messages in enumerate(prompts):
            body = {"model": self.model, "messages": messages, "max_tokens": sampling.max_tokens,
                    "temperature": sampling.temperature, "top_p": sampling.top_p, "seed": sampling.seed + index}
            try:
                response = self.client.post("/chat/completions", json=body)
            except httpx.HTTPError as exc:
                raise UpstreamError(f"suspect endpoint {self.url} failed: {exc}") from None
            if response.status_code != 200:
                raise UpstreamError(f"suspect endpoint {self.url} answered {response.status_code}: "
                                    f"{response.text[:300]}")
            try:
                answers.append(response.json()["choices"][0]["message"]["content"] or "")
            except (ValueError, KeyError, IndexError, TypeError):
                raise UpstreamError(f"suspect endpoint {self.url} sent no chat completion: {response.text[:300]}") from None
        return answers
