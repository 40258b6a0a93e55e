"""Suspects' likelihood of a continuation (the open canary test's input): batched with padding, each row's
value is the one a single unpadded forward pass gives."""

from __future__ import annotations

import pytest
import torch

from distillshield.audit.suspects import TransformersSuspect
from distillshield.backends.builtin import packaged_model_path
from distillshield.lab.student import Tokens
from distillshield.lab.student import Student, StudentConfig
from distillshield.lab.suspect import StudentSuspect
from distillshield.watermark import load_tokenizer, tokenize

MESSAGES = [{"role": "user", "content": "Name a colour."}]


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(str(packaged_model_path()))


def _continuations(tokenizer) -> list[list[int]]:
    return [tokenize(text, tokenizer) for text in (" red", " a deep shade of blue (ref. kotemu ravisa)", " green.")]


def _one_row(log_probs: torch.Tensor, start: int, continuation: list[int]) -> float:
    return float(sum(log_probs[start + j - 1, token] for j, token in enumerate(continuation)))


@pytest.mark.slow
def test_a_student_scores_each_continuation_as_one_unpadded_pass_would(tokenizer):
    tokens = Tokens(tokenizer)
    suspect = StudentSuspect(Student(StudentConfig(seed=3)), tokens)
    prefix = tokenize("My favourite colour is", tokenizer)
    continuations = _continuations(tokenizer)
    batched = suspect.continuation_logprobs(MESSAGES, prefix, continuations)
    head = tokens.prompt(MESSAGES) + prefix
    for value, continuation in zip(batched, continuations):
        ids = torch.tensor([head + continuation])
        with torch.no_grad():
            log_probs = torch.log_softmax(suspect.model.logits(suspect.model.hidden(ids, torch.ones_like(ids, dtype=torch.bool)))[0], -1)
        assert value == pytest.approx(_one_row(log_probs, len(head), continuation), abs=1e-4)


@pytest.mark.model
@pytest.mark.slow
def test_a_local_model_scores_each_continuation_as_one_unpadded_pass_would(tokenizer):
    suspect = TransformersSuspect(packaged_model_path(), tokenizer)
    prefix = tokenize("My favourite colour is", tokenizer)
    continuations = _continuations(tokenizer)
    batched = suspect.continuation_logprobs(MESSAGES, prefix, continuations)
    head = tokenize(suspect._prompt_text(MESSAGES), tokenizer) + prefix
    for value, continuation in zip(batched, continuations):
        with torch.no_grad():
            log_probs = torch.log_softmax(suspect.model(torch.tensor([head + continuation])).logits[0].float(), -1)
        assert value == pytest.approx(_one_row(log_probs, len(head), continuation), abs=1e-3)
    assert batched[0] > batched[1]       # a colour after "is" is likelier than a long made-up note
