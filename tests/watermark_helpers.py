"""Text and token streams for the watermark tests: null texts written procedurally, and a toy language model."""

from __future__ import annotations

import random
import re

import numpy as np
import torch

from distillshield.lab.fixtures import vocab

SUBJECTS = ["my neighbour", "the new manager", "our teacher", "a friend of mine", "the small café on the corner",
            "the city council", "my grandmother", "the delivery driver", "this old laptop", "the museum guide",
            "a tired student", "the local bakery", "my sister", "the football team", "the hotel receptionist"]
VERBS = ["recommended", "forgot about", "complained about", "finally fixed", "talked for hours about", "wrote a note on",
         "spent the weekend on", "asked me about", "laughed at", "carefully explained", "never mentioned", "looked into"]
OBJECTS = ["the broken heater", "a trip to the coast", "the price of coffee", "an old photograph", "the garden fence",
           "a book about whales", "the train timetable", "the noisy printer", "a recipe for lentil soup",
           "the parking rules", "a letter from the bank", "the school concert", "the weather forecast"]
ENDINGS = ["yesterday", "last week", "before lunch", "without any fuss", "on a rainy Tuesday", "again", "in the end",
           "after a long day", "with a big smile", "for no clear reason", "just in time"]
CONNECTORS = ["Then", "Later", "Honestly,", "Anyway,", "After that", "Still,", "Of course", "Meanwhile"]


def human_text(rng: random.Random) -> str:
    """A few plain sentences, the way people write in a chat or a review."""
    sentences = []
    for i in range(rng.randint(3, 6)):
        kind = rng.random()
        if kind < 0.55:
            s = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(ENDINGS)}"
        elif kind < 0.75:
            s = f"I keep thinking about {rng.choice(vocab.CHAT_TOPICS)}, and {rng.choice(SUBJECTS)} agrees"
        elif kind < 0.9:
            praise = rng.choice(vocab.REVIEW_PRAISE)
            s = f"The {rng.choice(vocab.PRODUCTS)} {praise} but {rng.choice(vocab.REVIEW_COMPLAINTS)}"
            s = s.replace("{n}", str(rng.randint(2, 9)))
        else:
            s = f"{rng.choice(vocab.MATH_NAMES)} has {rng.randint(2, 60)} {rng.choice(vocab.MATH_ITEMS)} and gives away {rng.randint(1, 9)}"
        if i and rng.random() < 0.3:
            s = f"{rng.choice(CONNECTORS)} {s}"
        sentences.append(s[0].upper() + s[1:] + rng.choice([".", ".", ".", "!", "?"]))
    return " ".join(sentences)


def word_tokens(tokenizer) -> np.ndarray:
    """Token ids that are one lower-case word with its leading space and tokenise back to themselves,
    so a sequence of them decodes to text that tokenises to the same sequence."""
    ids = []
    for token_id in range(len(tokenizer)):
        text = tokenizer.decode([token_id])
        if re.fullmatch(r" [a-z]{3,12}", text) and tokenizer(text, add_special_tokens=False)["input_ids"] == [token_id]:
            ids.append(token_id)
    return np.array(ids)


class ToyModel:
    """Next-token logits that depend on the previous token, like a language model's, over ``allowed`` ids."""

    def __init__(self, vocab_size: int, allowed: np.ndarray | None = None, scale: float = 3.0):
        self.vocab_size = vocab_size
        self.allowed = np.arange(vocab_size) if allowed is None else allowed
        self.scale = scale

    def logits(self, previous: int) -> torch.Tensor:
        rng = np.random.default_rng(previous)
        out = np.full(self.vocab_size, -np.inf)
        out[self.allowed] = rng.standard_normal(len(self.allowed)) * self.scale
        return torch.from_numpy(out).float()

    def generate(self, length: int, hook=None, seed: int = 0) -> list[int]:
        generator = torch.Generator().manual_seed(seed)
        ids = [int(self.allowed[seed % len(self.allowed)])]
        for _ in range(length):
            logits = self.logits(ids[-1])
            scores = hook(ids, logits) if hook else logits
            ids.append(int(torch.multinomial(torch.softmax(scores, -1), 1, generator=generator)))
        return ids
