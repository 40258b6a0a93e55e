"""The proxy student that antidistillation sampling steers by (``backends/antidistill.py``).

The lab's small GPT (the teacher's tokenizer), trained briefly on the teacher's own answers, stands in for a
distiller's student; the downstream loss ℓ is its negative log-likelihood per answer token of *other* teacher
answers (held out from its training), and g = ∇ℓ is computed once, here, and stored with it. The answers come
from the built-in model itself, through its own chat template, so the proxy reads exactly the token ids it
will meet when serving.
"""

from __future__ import annotations

import asyncio
import random
import statistics
from dataclasses import dataclass
from pathlib import Path

import orjson
import torch

from distillshield.backends.antidistill import save_proxy
from distillshield.backends.base import BackendRequest
from distillshield.lab import prompts as P
from distillshield.lab.student import Example, Student, StudentConfig, TrainConfig, answer_log_probs, make_batch, train
from distillshield.errors import ConfigError
from distillshield.records import check_fields, option


@dataclass
class ProxyConfig:
    prompts: int = option(256, "Prompts whose teacher answers train the proxy.", bounds=(1, 100_000))
    held_out: int = option(64, "Further prompts whose teacher answers make the downstream loss (its gradient).",
                           bounds=(1, 100_000))
    max_tokens: int = option(96, "Longest teacher answer asked for.", bounds=(1, 2048))
    temperature: float = option(0.7, "The teacher's sampling temperature.", bounds=(0.0, 2.0))
    steps: int = option(200, "The proxy's training steps.", bounds=(0, 10**6))
    d_model: int = option(128, "The proxy's width (the lab student's shape otherwise).", bounds=(8, 4096))
    seed: int = option(0, "Which prompts, the teacher's draws and the proxy's initial weights.", bounds=(0, None))

    def __post_init__(self) -> None:
        check_fields(self)


def campaign_prompts(count: int, seed: int, data_dir: str | Path | None = None) -> list[str]:
    """Prompts of the kinds a distiller sends (the simulator's campaign sources)."""
    pools = P.build_pools(data_dir, None, None)
    rng = random.Random(f"{seed}/proxy")
    names = sorted(pools.campaign)
    return [pools.campaign[names[i % len(names)]].draw(rng).prompt for i in range(count)]


async def _answer_all(backend, requests: list[dict], account: str, hardened: bool) -> list[str]:
    async def one(payload: dict) -> str:
        reply = await backend.handle(BackendRequest("POST", "/v1/chat/completions", b"", payload, account,
                                                    hardened=hardened))
        return orjson.loads(reply.body)["choices"][0]["message"]["content"]
    answers: list[str] = []
    chunk = max(1, backend.max_queue // 2)         # never more waiting than the backend's queue holds
    for first in range(0, len(requests), chunk):
        answers += await asyncio.gather(*(one(payload) for payload in requests[first:first + chunk]))
    return answers


def teacher_answers(backend, prompts: list[str], *, max_tokens: int, temperature: float, seed: int,
                    hardened: bool = False, account: str = "lab-proxy") -> list[str]:
    """The built-in model's answers to ``prompts`` (a started ``BuiltinBackend``), one per prompt, seeded.
    ``hardened``: as a hardened account gets them (antidistillation sampling, when the backend has it)."""
    requests = [{"model": "builtin", "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens,
                 "temperature": temperature, "seed": seed * 100_003 + i} for i, prompt in enumerate(prompts)]
    return asyncio.run(_answer_all(backend, requests, account, hardened))


def examples_of(tokenizer, prompts: list[str], answers: list[str]) -> list[Example]:
    """(prompt, answer) pairs as the teacher's token ids: the prompt through its chat template, as served."""
    examples = []
    for prompt, answer in zip(prompts, answers):
        ids = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                            tokenize=True)
        ids = list(ids["input_ids"] if hasattr(ids, "keys") else ids)
        answer_ids = tokenizer.encode(answer, add_special_tokens=False)
        if answer_ids:
            examples.append(Example(ids, answer_ids))
    return examples


def downstream_gradient(model: Student, examples: list[Example], batch_size: int = 16) -> tuple[dict, float]:
    """g = ∇ℓ at the proxy's weights, ℓ its mean NLL per answer token of ``examples``; and ℓ."""
    model.eval()
    model.zero_grad(set_to_none=True)
    tokens = sum(len(example.answer_ids[:model.config.context - 1]) for example in examples)
    total = 0.0
    for first in range(0, len(examples), batch_size):
        batch = make_batch(examples[first:first + batch_size], model.config.context)
        nll = -answer_log_probs(model, batch).gather(1, batch.targets[:, None]).sum() / tokens
        nll.backward()
        total += float(nll.detach())
    gradient = {name: parameter.grad.detach().clone() for name, parameter in model.named_parameters()
                if parameter.grad is not None}
    model.zero_grad(set_to_none=True)
    return gradient, total


def build_proxy(backend, config: ProxyConfig, out: str | Path, *, data_dir: str | Path | None = None,
                prompts: list[str] | None = None, say=print) -> dict:
    """Teacher answers, the proxy trained on some, g from the others; written to ``out``. Returns what it did.
    ``prompts``: the ``config.prompts + config.held_out`` prompts to use (default: drawn from the campaign sources)."""
    prompts = prompts or campaign_prompts(config.prompts + config.held_out, config.seed, data_dir)
    say(f"proxy: asking the teacher {len(prompts)} prompts")
    answers = teacher_answers(backend, prompts, max_tokens=config.max_tokens, temperature=config.temperature,
                              seed=config.seed)
    cut = config.prompts
    trained = examples_of(backend.tokenizer, prompts[:cut], answers[:cut])
    held_out = examples_of(backend.tokenizer, prompts[cut:], answers[cut:])
    if not trained or not held_out:
        raise ConfigError("the teacher's answers were all empty: no proxy can be trained or measured on them")
    shape = StudentConfig(vocab_size=backend.model.get_output_embeddings().weight.shape[0], d_model=config.d_model,
                          seed=config.seed)
    model = Student(shape)
    say(f"proxy: training on {len(trained)} answers for {config.steps} steps")
    result = train(model, trained, TrainConfig(steps=config.steps, seed=config.seed))
    gradient, loss = downstream_gradient(model, held_out)
    norm = float(torch.sqrt(sum((value.double() ** 2).sum() for value in gradient.values())))
    about = {"trained_on": len(trained), "held_out": len(held_out), "steps": config.steps,
             "train_nll_last": result.loss[-1] if result.loss else None, "downstream_nll": round(loss, 4),
             "gradient_norm": norm, "config": config.__dict__}
    save_proxy(model, gradient, out, **about)
    say(f"proxy: downstream NLL {loss:.3f}, |g| {norm:.3g}; wrote {out}")
    return about


def penalty_spread(backend, proxy, examples: list[Example], positions: int = 4) -> float:
    """σ: the median, over prefixes of held-out answers (the first 8 ``examples``, every 8th token up to
    ``positions``), of the penalty Δ's standard deviation over the teacher's 20 likeliest tokens: λ = m/σ tilts
    the likely tokens' logits by about m nats of spread, whatever the proxy's |g|."""
    spreads = []
    with torch.inference_mode():
        for example in examples[:8]:
            for cut in range(0, min(positions * 8, len(example.answer_ids)), 8):
                ids = example.prompt_ids + example.answer_ids[:cut]
                logits = backend.model(input_ids=torch.tensor([ids])).logits[0, -1]
                top = torch.topk(logits, min(20, logits.shape[-1])).indices
                spreads.append(float(proxy.penalty(ids)[top].std()))
    if not spreads:
        raise ConfigError("no held-out answer to measure the proxy's penalty spread on")
    return statistics.median(spreads)
