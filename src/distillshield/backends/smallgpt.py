"""The small GPT: the lab's from-scratch student and the proxy student of anti-distillation sampling.

nanoGPT's shape, with the teacher's (SmolLM2's) tokenizer and tied embeddings. It lives here, below the lab,
because the built-in backend's anti-distillation mode (``backends/antidistill.py``) runs a proxy student of
this shape beside the teacher; the lab trains and evaluates it (``lab/student.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F

from distillshield.records import option


@dataclass
class StudentConfig:
    vocab_size: int = option(49152, "The teacher's tokenizer's vocabulary.", bounds=(1, None))
    context: int = option(192, "Longest prompt + answer seen; prompts are cut from the left to fit.",
                          bounds=(16, 8192))
    layers: int = option(2, "Transformer blocks.", bounds=(1, 64))
    heads: int = option(4, "Attention heads (d_model must be a multiple).", bounds=(1, 64))
    d_model: int = option(128, "Width of the residual stream.", bounds=(8, 8192))
    seed: int = option(0, "The initial weights: same seed, same untrained student.", bounds=(0, None))

# -- the model ---------------------------------------------------------------------------------------------
class SelfAttention(nn.Module):
    def __init__(self, config: StudentConfig):
        super().__init__()
        assert config.d_model % config.heads == 0
        self.heads = config.heads
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.out = nn.Linear(config.d_model, config.d_model)

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = self.qkv(x).split(width, dim=2)
        q, k, v = (t.view(batch, length, self.heads, width // self.heads).transpose(1, 2) for t in (q, k, v))
        # causal, and padding (on the left of each row) is never attended to
        causal = torch.ones(length, length, dtype=torch.bool, device=x.device).tril()
        mask = causal[None, None] & pad_mask[:, None, None, :]
        mask = mask | torch.eye(length, dtype=torch.bool, device=x.device)[None, None]  # padded rows see themselves
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out(y.transpose(1, 2).reshape(batch, length, width))


class Block(nn.Module):
    def __init__(self, config: StudentConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.d_model)
        self.attn = SelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.d_model)
        self.mlp = nn.Sequential(nn.Linear(config.d_model, 4 * config.d_model), nn.GELU(),
                                 nn.Linear(4 * config.d_model, config.d_model))

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), pad_mask)
        return x + self.mlp(self.ln_2(x))


class Student(nn.Module):
    def __init__(self, config: StudentConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.d_model)
        self.wpe = nn.Embedding(config.context, config.d_model)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.ln_f = nn.LayerNorm(config.d_model)
        weights = torch.Generator().manual_seed(config.seed)      # its own generator: no global side effect
        for name, parameter in self.named_parameters():
            if parameter.dim() >= 2:
                nn.init.normal_(parameter, mean=0.0, std=0.02, generator=weights)
            elif name.endswith("bias"):
                nn.init.zeros_(parameter)

    def hidden(self, ids: torch.Tensor, pad_mask: torch.Tensor) -> torch.Tensor:
        """The last layer's states (batch, length, d_model); rows are left-padded, positions count real tokens."""
        positions = (pad_mask.long().cumsum(-1) - 1).clamp(min=0)
        x = self.wte(ids) + self.wpe(positions)
        for block in self.blocks:
            x = block(x, pad_mask)
        return self.ln_f(x)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden @ self.wte.weight.T          # tied embeddings: the output layer is the input table

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())
