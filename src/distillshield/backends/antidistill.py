"""Antidistillation sampling (Savani et al. 2025, arXiv 2504.13146) for the answers of hardened accounts.

At each token the teacher's next-token distribution is tilted towards the tokens that would make a proxy
student *worse* at a downstream objective if it were trained on them:

    Δ(x | prefix) = [log p(x | prefix; θ_P + ε g) − log p(x | prefix; θ_P − ε g)] / (2ε)
                  ≈ ⟨g, ∇_θ log p(x | prefix; θ_P)⟩

with θ_P the proxy's weights and g = ∇_θ ℓ(θ_P) the gradient of its downstream loss ℓ (its negative
log-likelihood of held-out teacher answers), computed once, offline, and stored with the proxy. Why the sign
is right: a distiller's step of size η on the token x moves the proxy to θ_P + η ∇ log p(x), which changes ℓ by
η ⟨g, ∇ log p(x)⟩ + O(η²) = η Δ(x); a token with Δ > 0 raises the proxy's downstream loss. The token is drawn
from softmax(log p_T / τ + λ Δ) (the paper's Algorithm 1, with its central difference); under greedy decoding
(τ = 0) from argmax(log p_T + λ Δ).

The proxy is the lab's small GPT (``smallgpt.py``), sharing the teacher's tokenizer; the two perturbed copies
θ_P ± ε g are made once at load, so a token costs two proxy forward passes over the last ``context`` tokens.
``distillshield lab proxy`` (``lab/proxy.py``) trains one and computes its g.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import orjson
import torch
from torch.nn import functional as F

from distillshield.backends.smallgpt import Student, StudentConfig
from distillshield.errors import ConfigError

WEIGHTS_FILE = "model.pt"
GRADIENT_FILE = "gradient.pt"
CONFIG_FILE = "config.json"
# the length of the step ε g in weight space, as a share of the weights' own length: large enough that float32's
# rounding (~1e-7 of a log-probability) is far below the difference taken, small enough that the central
# difference's O(ε²) error stays small (a few per cent at most, on the test's tiny proxy)
DEFAULT_STEP = 1e-3

# (row token ids, next-token logits) -> the logits to sample from
Adjust = Callable[[list[int], torch.Tensor], torch.Tensor]


def save_proxy(model: Student, gradient: dict[str, torch.Tensor], folder: str | Path, **about) -> list[Path]:
    """The proxy's weights, its downstream-loss gradient (one tensor per parameter) and ``config.json``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({name: value.detach().cpu() for name, value in model.state_dict().items()}, folder / WEIGHTS_FILE)
    torch.save({name: value.detach().cpu() for name, value in gradient.items()}, folder / GRADIENT_FILE)
    (folder / CONFIG_FILE).write_bytes(orjson.dumps({"student": asdict(model.config), **about},
                                                    option=orjson.OPT_INDENT_2))
    return [folder / name for name in (WEIGHTS_FILE, GRADIENT_FILE, CONFIG_FILE)]


class Proxy:
    """The proxy student's two perturbed copies, θ_P + ε g and θ_P − ε g, and ε."""

    def __init__(self, model: Student, gradient: dict[str, torch.Tensor], step: float = DEFAULT_STEP):
        norm = _norm(gradient.values())
        if not norm > 0:
            raise ConfigError("the proxy's downstream-loss gradient is zero: nothing to steer by")
        self.epsilon = step * _norm(model.parameters()) / norm
        self.gradient_norm = norm
        self.plus, self.minus = self._moved(model, gradient, +1), self._moved(model, gradient, -1)
        self.context = model.config.context
        self.vocab_size = model.config.vocab_size

    def _moved(self, model: Student, gradient: dict[str, torch.Tensor], sign: int) -> Student:
        moved = copy.deepcopy(model).eval()
        with torch.no_grad():
            for name, parameter in moved.named_parameters():
                if name in gradient:
                    parameter.add_(gradient[name].to(parameter.dtype), alpha=sign * self.epsilon)
        return moved

    @torch.inference_mode()
    def penalty(self, ids: list[int]) -> torch.Tensor:
        """Δ(· | ids) over the vocabulary: (vocab,), float32."""
        context = torch.tensor([ids[-self.context:]], dtype=torch.long)
        mask = torch.ones_like(context, dtype=torch.bool)
        plus, minus = (F.log_softmax(model.logits(model.hidden(context, mask)[0, -1]), dim=-1)
                       for model in (self.plus, self.minus))
        return (plus - minus) / (2 * self.epsilon)


def _norm(tensors) -> float:
    return math.sqrt(sum(float((tensor.detach().double() ** 2).sum()) for tensor in tensors))


def load_proxy(folder: str | Path, step: float = DEFAULT_STEP) -> Proxy:
    """A proxy saved by ``save_proxy``; a ConfigError saying what is missing otherwise."""
    folder = Path(folder)
    missing = [name for name in (WEIGHTS_FILE, GRADIENT_FILE, CONFIG_FILE) if not (folder / name).is_file()]
    if missing:
        raise ConfigError(f"setting policy_harden_antidistill_proxy: {folder} has no {', '.join(missing)} "
                          "(build one with `distillshield lab proxy`)")
    about = orjson.loads((folder / CONFIG_FILE).read_bytes())
    model = Student(StudentConfig(**about["student"]))
    model.load_state_dict(torch.load(folder / WEIGHTS_FILE, map_location="cpu", weights_only=True))
    gradient = torch.load(folder / GRADIENT_FILE, map_location="cpu", weights_only=True)
    unknown = set(gradient) - {name for name, _ in model.named_parameters()}
    if unknown:
        raise ConfigError(f"the proxy's gradient names parameters the proxy lacks: {sorted(unknown)[:3]}")
    return Proxy(model.eval(), gradient, step)


class Antidistillation:
    """The built-in model's anti-distillation mode: ``strength`` is λ."""

    def __init__(self, proxy: Proxy, strength: float):
        self.proxy = proxy
        self.strength = strength

    @property
    def action(self) -> str:
        """What the traffic log records of it on an answer's ``policy.actions``."""
        return f"antidistill:{self.strength:g}"

    def for_row(self, temperature: float) -> Adjust:
        """One answer's adjustment: logits -> logits + λ τ Δ, so that the sampler's softmax(· / τ) draws from
        softmax(log p_T / τ + λ Δ); at τ = 0 (greedy) the argmax of logits + λ Δ."""
        scale = self.strength * (temperature if temperature > 0 else 1.0)

        def adjust(ids: list[int], logits: torch.Tensor) -> torch.Tensor:
            penalty = self.proxy.penalty(ids)
            return logits.float() + scale * penalty
        return adjust
