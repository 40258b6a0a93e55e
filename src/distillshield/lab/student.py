"""The student: a small GPT trained from scratch on what the attacker harvested, with the teacher's tokenizer.

nanoGPT's shape: a config dataclass, a model (``backends/smallgpt.py``, where the backend's antidistillation proxy
also finds it), a training loop, an evaluation. The student shares only the
teacher's tokenizer (SmolLM2's, read from the built-in model's GGUF file), so a harvested answer is the same
token sequence for both, and the teacher's top-k log-probabilities name tokens the student also has.

Two ways to learn from the teacher:

  sequence  the teacher's sampled answer is the target: the negative log-likelihood (NLL) of each answer
            token, given the prompt and the answer so far. Every harvest allows this.
  token     where the harvest got log-probabilities, the student also matches the teacher's distribution at
            each answer token: cross-entropy to the teacher's top-k probabilities renormalised to sum to 1,
            -sum_k p_k log q_k (the KL divergence KL(p || q) plus p's entropy, a constant), mixed with the NLL:
            loss = soft_weight * soft + (1 - soft_weight) * NLL.

Only answer positions are projected onto the 49k-token vocabulary (the projection costs far more than the
two small transformer blocks), which is what makes a few hundred steps fit on two CPU cores.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import orjson
import torch
import torch.nn as nn
from torch.nn import functional as F

from distillshield.backends.smallgpt import Block, SelfAttention, Student, StudentConfig  # noqa: F401  (re-exported)
from distillshield.records import Exchange, option

WEIGHTS_FILE = "model.pt"
CONFIG_FILE = "config.json"


@dataclass
class TrainConfig:
    steps: int = option(200, "Optimiser steps.", bounds=(0, 10**7))
    batch_size: int = option(16, "Answers per step.", bounds=(1, 4096))
    learning_rate: float = option(3e-3, "Peak learning rate (AdamW).", bounds=(0.0, 1.0))
    warmup_steps: int = option(20, "Steps of linear warm-up.", bounds=(0, 10**7))
    weight_decay: float = option(0.01, "AdamW's weight decay.", bounds=(0.0, 1.0))
    soft_weight: float = option(0.5, "Token mode: the share of the loss taken by the teacher's top-k distribution.",
                                bounds=(0.0, 1.0))
    seed: int = option(0, "The order of the batches.", bounds=(0, None))
    device: str = option("cpu", "Where to train: cpu, cuda, cuda:N, or auto (cuda when there is one).")


@dataclass
class Example:
    """One harvested answer as token ids; ``soft`` holds, per answer token, the teacher's top-k (ids, probs)."""
    prompt_ids: list[int]
    answer_ids: list[int]
    soft: list[tuple[list[int], list[float]]] | None = None


# -- batches -----------------------------------------------------------------------------------------------
@dataclass
class Batch:
    ids: torch.Tensor          # (B, T) inputs, left-padded
    pad_mask: torch.Tensor     # (B, T) True on real tokens
    where: torch.Tensor        # (N, 2) (row, position) of every position whose next token is an answer token
    targets: torch.Tensor      # (N,) that next token
    soft_ids: torch.Tensor     # (N, K) the teacher's top-k there (0 where absent)
    soft_probs: torch.Tensor   # (N, K) their renormalised probabilities (all 0: no soft target)

    def to(self, device: torch.device) -> Batch:
        if device.type == "cpu":
            return self
        return Batch(*(getattr(self, f.name).to(device) for f in fields(self)))


def resolve_device(name: str) -> torch.device:
    """``auto``: the first GPU when torch sees one, else the CPU; otherwise the device named."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def make_batch(examples: list[Example], context: int, pad_id: int = 0) -> Batch:
    rows, targets, where, soft_ids, soft_probs = [], [], [], [], []
    top_k = max((len(ids) for ex in examples if ex.soft for ids, _ in ex.soft), default=1)
    for example in examples:
        answer = example.answer_ids[:context - 1]
        prompt = example.prompt_ids[-(context - len(answer)):]
        sequence = (prompt + answer)[:-1]           # the input; position i predicts token i + 1
        rows.append(sequence)
        start = len(prompt) - 1                     # the position that predicts the first answer token
        for j, token in enumerate(answer):
            where.append((len(rows) - 1, start + j))
            targets.append(token)
            ids, probs = example.soft[j] if example.soft and j < len(example.soft) else ([], [])
            soft_ids.append(list(ids) + [0] * (top_k - len(ids)))
            soft_probs.append(list(probs) + [0.0] * (top_k - len(probs)))
    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    pad_mask = torch.zeros((len(rows), width), dtype=torch.bool)
    offsets = []
    for i, row in enumerate(rows):
        offsets.append(width - len(row))
        ids[i, width - len(row):] = torch.tensor(row, dtype=torch.long)
        pad_mask[i, width - len(row):] = True
    where = torch.tensor([(row, offsets[row] + position) for row, position in where], dtype=torch.long)
    return Batch(ids, pad_mask, where, torch.tensor(targets, dtype=torch.long),
                 torch.tensor(soft_ids, dtype=torch.long), torch.tensor(soft_probs, dtype=torch.float32))


def answer_log_probs(model: Student, batch: Batch) -> torch.Tensor:
    """log q(· | prompt, answer so far) at every answer position: (N, vocab)."""
    hidden = model.hidden(batch.ids, batch.pad_mask)
    return F.log_softmax(model.logits(hidden[batch.where[:, 0], batch.where[:, 1]]), dim=-1)


def loss_of(model: Student, batch: Batch, soft_weight: float) -> tuple[torch.Tensor, float]:
    """The training loss, and the plain NLL per answer token (what is reported either way)."""
    log_q = answer_log_probs(model, batch)
    nll = F.nll_loss(log_q, batch.targets)
    has_soft = batch.soft_probs.sum(-1) > 0
    if soft_weight <= 0 or not bool(has_soft.any()):
        return nll, float(nll.detach())
    soft = -(batch.soft_probs * log_q.gather(1, batch.soft_ids)).sum(-1)
    # positions without a soft target keep the NLL alone
    per_token = torch.where(has_soft, soft_weight * soft + (1 - soft_weight) * F.nll_loss(log_q, batch.targets,
                                                                                         reduction="none"),
                            F.nll_loss(log_q, batch.targets, reduction="none"))
    return per_token.mean(), float(nll.detach())


# -- training ----------------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)        # the training NLL per answer token at each step
    seconds: float = 0.0
    examples: int = 0
    answer_tokens: int = 0
    soft_tokens: int = 0


def batch_order(count: int, batch_size: int, seed: int):
    """Indices of each step's batch, for ever: an epoch is one shuffled pass over the ``count`` examples, and
    batches run across epoch boundaries; the same seed, the same order."""
    order = torch.Generator().manual_seed(seed)
    queue: list[int] = []
    while True:
        while len(queue) < batch_size:
            queue.extend(torch.randperm(count, generator=order).tolist())
        picked, queue = queue[:batch_size], queue[batch_size:]
        yield picked


def learning_rate_at(step: int, config) -> float:
    """Linear warm-up to ``config.learning_rate``, then a cosine decay to a tenth of it at ``config.steps``."""
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return config.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def train(model: Student, examples: list[Example], config: TrainConfig, *, mode: str = "sequence",
          on_step=None) -> TrainResult:
    """Train ``model`` in place on ``examples``: AdamW, linear warm-up, cosine decay."""
    assert mode in ("sequence", "token")
    result = TrainResult(examples=len(examples), answer_tokens=sum(len(e.answer_ids) for e in examples),
                         soft_tokens=sum(len(e.soft) for e in examples if e.soft) if mode == "token" else 0)
    if not examples:
        return result
    began = time.perf_counter()
    soft_weight = config.soft_weight if mode == "token" else 0.0
    model.to(resolve_device(config.device))           # before the optimiser takes its parameters
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=config.learning_rate,
                                  betas=(0.9, 0.95))
    model.train()
    for step, picked in zip(range(config.steps), batch_order(len(examples), config.batch_size, config.seed)):
        batch = make_batch([examples[i] for i in picked], model.config.context).to(_device_of(model))
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(step, config)
        loss, nll = loss_of(model, batch, soft_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        result.steps.append(step)
        result.loss.append(nll)
        if on_step is not None:
            on_step(step, nll)
    model.eval()
    result.seconds = time.perf_counter() - began
    return result


# -- evaluation --------------------------------------------------------------------------------------------
@dataclass
class Fidelity:
    """How close the student is to the teacher on held-out prompts, measured on the teacher's answers."""
    nll: float             # mean negative log-likelihood per teacher answer token (nats)
    agreement: float       # share of answer positions where the student's most likely token is the teacher's
    tokens: int

    def as_dict(self) -> dict:
        return {"nll": round(self.nll, 4), "agreement": round(self.agreement, 4), "tokens": self.tokens}


@torch.no_grad()
def fidelity(model: Student, examples: list[Example], batch_size: int = 32) -> Fidelity:
    model.eval()
    total, agree, count = 0.0, 0, 0
    for first in range(0, len(examples), batch_size):
        batch = make_batch(examples[first:first + batch_size], model.config.context).to(_device_of(model))
        log_q = answer_log_probs(model, batch)
        total += float(F.nll_loss(log_q, batch.targets, reduction="sum"))
        agree += int((log_q.argmax(-1) == batch.targets).sum())
        count += len(batch.targets)
    return Fidelity(total / max(count, 1), agree / max(count, 1), count)


@torch.no_grad()
def generate(model: Student, prompt_ids: list[int], max_tokens: int, stop_id: int | None = None,
             pick=None) -> list[int]:
    """The student's answer: its most likely token at each step, or ``pick(next-token logits)``'s choice."""
    model.eval()
    ids = list(prompt_ids[-(model.config.context - max_tokens):])
    out = []
    for _ in range(max_tokens):
        tensor = torch.tensor([ids], device=_device_of(model))
        hidden = model.hidden(tensor, torch.ones_like(tensor, dtype=torch.bool))
        logits = model.logits(hidden[0, -1])
        token = int(logits.argmax()) if pick is None else pick(logits)
        if token == stop_id:
            break
        out.append(token)
        ids.append(token)
    return out


# -- saving and loading ------------------------------------------------------------------------------------
def save_student(model: Student, folder: str | Path, **about) -> list[Path]:
    """``model.pt`` (the weights) and ``config.json`` (the architecture, plus ``about``: tokenizer, training)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({name: value.cpu() for name, value in model.state_dict().items()}, folder / WEIGHTS_FILE)
    (folder / CONFIG_FILE).write_bytes(orjson.dumps({"student": asdict(model.config), **about},
                                                    option=orjson.OPT_INDENT_2))
    return [folder / WEIGHTS_FILE, folder / CONFIG_FILE]


def load_student(folder: str | Path) -> tuple[Student, dict]:
    """A saved student and everything its ``config.json`` says about it."""
    folder = Path(folder)
    about = orjson.loads((folder / CONFIG_FILE).read_bytes())
    model = Student(StudentConfig(**about["student"]))
    model.load_state_dict(torch.load(folder / WEIGHTS_FILE, map_location="cpu", weights_only=True))
    return model.eval(), about


class Tokens:
    """The teacher's tokenizer, for the student: prompts in ChatML, answers as the teacher's own token ids."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.stop_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
        by_text: dict[str, int] = {}
        ambiguous = set()
        for token_id, text in enumerate(tokenizer.batch_decode([[i] for i in range(len(tokenizer))])):
            if text in by_text:
                ambiguous.add(text)
            by_text.setdefault(text, token_id)
        # the logprobs of an answer name tokens by their text; a text several tokens share names none of them
        self.by_text = {text: token_id for text, token_id in by_text.items() if text not in ambiguous}

    def prompt(self, messages: list[dict]) -> list[int]:
        text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return self.tokenizer.encode(text + "<|im_start|>assistant\n", add_special_tokens=False)

    def example(self, request: dict, response: dict, *, soft: bool) -> Example | None:
        """A harvested answer as a training example; with ``soft``, the teacher's top-k where it came with them."""
        choice = (response.get("choices") or [None])[0]
        if not choice:
            return None
        text = (choice.get("message") or {}).get("content") or ""
        entries = ((choice.get("logprobs") or {}).get("content") or []) if soft else []
        answer = [self.by_text.get(e.get("token")) for e in entries]
        targets = None
        if entries and all(token is not None for token in answer):
            targets = []
            for entry in entries:
                ids, probs = [], []
                for alternative in entry.get("top_logprobs") or []:
                    token_id = self.by_text.get(alternative.get("token"))
                    if token_id is not None and token_id not in ids:
                        ids.append(token_id)
                        probs.append(math.exp(alternative["logprob"]))
                total = sum(probs)
                targets.append((ids, [p / total for p in probs]) if total > 0 else ([], []))
        else:
            answer = self.tokenizer.encode(text, add_special_tokens=False)
        if choice.get("finish_reason") == "stop":
            answer = answer + [self.stop_id]
        if not answer:
            return None
        return Example(self.prompt(request["messages"]), answer, targets)

    def examples(self, exchanges: list[Exchange], *, soft: bool) -> list[Example]:
        """The training examples of the exchanges that were answered (status 200, or none recorded)."""
        answered = (r for r in exchanges if r.status in (None, 200) and r.response)
        return [e for e in (self.example(r.request, r.response, soft=soft) for r in answered) if e is not None]

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)
