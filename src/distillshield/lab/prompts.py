"""Prompt sources for the traffic simulator: JSONL files of a data folder, or built-in generators.

A source has a name and hands out ``Item``s (a prompt, optionally the turns of
a real conversation and a recorded answer). Built-in sources are procedural:
they combine the word lists of ``fixtures.vocab`` with random names and
numbers, so tests never need a data folder. The hard benign applications
(summarising reviews, classifying tickets, ...) have their own generators here.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from distillshield.errors import ConfigError
from distillshield.lab.fixtures import vocab as V


@dataclass(slots=True)
class Item:
    prompt: str
    source: str
    turns: list | None = None       # [{role, content}] of a real conversation
    response: str | None = None     # the answer the source recorded


# -- built-in generators ----------------------------------------------------------------------------
def _fill(rng: random.Random, template: str, **given) -> str:
    names = rng.sample(V.MATH_NAMES, 5)
    x, y, z, w = rng.randint(2, 60), rng.randint(2, 40), rng.randint(2, 25), rng.randint(1, 9)
    values = dict(a=names[0], b=names[1], c=names[2], d=names[3], e=names[4], x=x, y=y, z=z, w=w,
                  n=rng.randint(2, 30), p=rng.randint(2, 95), big=rng.randint(100, 900), item=rng.choice(V.MATH_ITEMS),
                  mm=f"{rng.randint(0, 59):02d}", s2=x + 2 * y, s3=x + 4 * y, k=rng.randint(1, 99999))
    values.update(given)
    return template.format(**values)


def _casual(rng: random.Random, text: str) -> str:
    """People type carelessly now and then."""
    roll = rng.random()
    if roll < 0.15:
        return text.lower().rstrip("?.!")
    if roll < 0.22:
        return text + " thanks"
    if roll < 0.27:
        return "hey, " + text[0].lower() + text[1:]
    return text


def gen_chat(rng: random.Random, topic: str | None = None) -> str:
    topic = topic or rng.choice(V.CHAT_TOPICS)
    return _casual(rng, _fill(rng, rng.choice(V.CHAT_OPENERS), topic=topic))


def gen_follow_up(rng: random.Random) -> str:
    return _casual(rng, _fill(rng, rng.choice(V.FOLLOW_UPS)))


def gen_tech(rng: random.Random) -> str:
    return _fill(rng, rng.choice(V.TECH_QUESTION_STYLES), task=rng.choice(V.TECH_TASKS), lang=rng.choice(V.TECH_LANGS),
                 tool=rng.choice(V.TECH_TOOLS), error=rng.choice(V.TECH_ERRORS))


def reword(rng: random.Random, question: str) -> str:
    return _fill(rng, rng.choice(V.REWORDINGS), q=question)


def gen_code(rng: random.Random) -> str:
    return _fill(rng, rng.choice(V.CODE_STYLES), lang=rng.choice(V.TECH_LANGS), task=rng.choice(V.CODE_TASKS))


def gen_math(rng: random.Random) -> str:
    return _fill(rng, rng.choice(V.MATH_TEMPLATES))


def gen_logic(rng: random.Random) -> str:
    return _fill(rng, rng.choice(V.LOGIC_PUZZLES))


def gen_roleplay(rng: random.Random) -> str:
    situation = rng.choice(V.ROLE_SITUATIONS)
    return _fill(rng, rng.choice(V.ROLE_STYLES), char=rng.choice(V.ROLE_CHARACTERS),
                 sit=situation[0].upper() + situation[1:], sit_l=situation)


def gen_instruction(rng: random.Random) -> str:
    first, second = rng.sample(V.INSTRUCTION_SUBJECTS, 2)
    return _fill(rng, rng.choice(V.INSTRUCTION_STYLES), s=first, s2=second)


def gen_answer(rng: random.Random, chars: int) -> str:
    """A plausible placeholder answer of about ``chars`` characters."""
    parts, size = [], 0
    while size < chars:
        sentence = rng.choice(V.FILLER_SENTENCES)
        parts.append(sentence)
        size += len(sentence) + 1
    return " ".join(parts)


# the hard benign applications --------------------------------------------------------------------
def gen_review(rng: random.Random) -> str:
    bits = [rng.choice(V.REVIEW_PRAISE) for _ in range(rng.randint(0, 3))]
    bits += [rng.choice(V.REVIEW_COMPLAINTS) for _ in range(rng.randint(0, 3))]
    bits = [b[0].upper() + b[1:] + "." for b in bits] or ["It's fine."]
    bits += [rng.choice(V.REVIEW_FILLER) for _ in range(rng.randint(1, 3))]
    rng.shuffle(bits)
    text = f"{rng.choice(V.PRODUCTS).capitalize()}: " + " ".join(bits)
    return _fill(rng, text, who=rng.choice(V.WHO), stars=rng.randint(1, 5))


def gen_ticket(rng: random.Random) -> str:
    issue = _fill(rng, rng.choice(V.TICKET_ISSUES))
    greeting = rng.choice(["Hi,", "Hello team,", "", "Dear support,", "hey"])
    context = rng.choice(["", "", f" I'm using the {rng.choice(['iOS', 'Android', 'web', 'desktop'])} app.",
                          f" This started on {rng.choice(['Monday', 'Tuesday', 'Friday', 'the weekend', 'the 3rd'])}.",
                          f" I've been a customer for {rng.randint(1, 12)} years.",
                          f" It's about the {rng.choice(V.PRODUCTS)} I ordered.",
                          f" My colleague has the same problem with the {rng.choice(V.PRODUCTS)}."])
    extra = rng.choice(["", " Order #" + str(rng.randint(10000, 99999)) + ".", " This is urgent!", " Thanks in advance.",
                        " I already tried restarting.", " Please call me back.", f" Ref {rng.randint(100, 9999)}."])
    return f"{greeting} {issue}.{context}{extra}".strip()


def gen_product_text(rng: random.Random) -> str:
    product = rng.choice(V.PRODUCTS)
    lines = [_fill(rng, p) for p in rng.sample(V.TRANSLATE_PHRASES, rng.randint(1, 4))]
    return f"{product.capitalize()}. " + " ".join(lines)


def gen_rag(rng: random.Random, company: str | None = None) -> tuple[str, str]:
    """A retrieved context block (of one company's documents) and an employee's question about it."""
    company, topic = company or rng.choice(V.COMPANIES), rng.choice(V.POLICY_TOPICS)
    paragraphs = []
    for i in range(rng.randint(2, 5)):
        t = rng.choice(V.POLICY_TOPICS) if i else topic
        paragraphs.append(
            f"[doc {rng.randint(100, 999)}] {company} policy on {t}, section {rng.randint(1, 12)}.{rng.randint(1, 9)}: "
            f"Employees are entitled to {rng.randint(2, 30)} days per year; requests go to the {rng.choice(['line manager', 'HR portal', 'finance team', 'team lead'])} "
            f"at least {rng.randint(2, 21)} days in advance. Exceptions need written approval. Last reviewed {rng.randint(2019, 2026)}.")
    question = _fill(rng, rng.choice(V.EMPLOYEE_QUESTIONS), p=topic)
    return "\n\n".join(paragraphs), _casual(rng, question)


_CODE_HEADS = {
    "python": ["def {f}({a}):\n    \"\"\"{d}\"\"\"\n    ", "class {F}:\n    def __init__(self, {a}):\n        self.{a} = {a}\n\n    def {f}(self):\n        ",
               "import os\nimport json\n\n\ndef {f}(path):\n    with open(path) as fh:\n        ", "for {a} in items:\n    if {a}."],
    "javascript": ["function {f}({a}) {{\n  // {d}\n  ", "const {f} = async ({a}) => {{\n  const res = await fetch(", "export class {F} {{\n  constructor({a}) {{\n    this."],
    "go": ["func {f}({a} string) (int, error) {{\n\t// {d}\n\t", "type {F} struct {{\n\t{A} int\n\t", "if err != nil {{\n\treturn "],
    "typescript": ["interface {F} {{\n  {a}: string;\n  ", "export function {f}({a}: number): number {{\n  "],
    "java": ["public static int {f}(int {a}) {{\n    // {d}\n    ", "public class {F} {{\n    private final String {a};\n    "],
}
_IDENTS = ["parse", "load", "total", "user", "value", "items", "config", "result", "buffer", "index", "record", "count", "name",
           "cache", "retry", "token", "order", "price", "event", "handler"]


def gen_code_prefix(rng: random.Random) -> str:
    language = rng.choice(list(_CODE_HEADS))
    words = rng.sample(_IDENTS, 3)
    f = words[0] + "_" + words[1] if language == "python" else words[0] + words[1].capitalize()
    head = rng.choice(_CODE_HEADS[language]).format(
        f=f, F=words[0].capitalize() + words[2].capitalize(), a=words[2], A=words[2].capitalize(),
        d=f"{words[0]} the {words[1]} of {words[2]}")
    lines = rng.randint(0, 30)
    context = "".join(f"# line {i}: {rng.choice(_IDENTS)} = {rng.randint(0, 99)}\n" for i in range(lines)) if language == "python" \
        else "".join(f"// {rng.choice(_IDENTS)} {rng.randint(0, 99)}\n" for i in range(lines))
    return context + head


def gen_multiple_choice(rng: random.Random) -> str:
    domain = rng.choice(V.SWEEP_DOMAINS)
    options = rng.sample(V.INSTRUCTION_SUBJECTS, 4)
    return (f"Question {rng.randint(1, 999)} ({domain}): Which of the following is most closely related to "
            f"{rng.choice(V.SWEEP_DOMAINS)}?\nA) {options[0]}\nB) {options[1]}\nC) {options[2]}\nD) {options[3]}")


# -- sources ------------------------------------------------------------------------------------------
BUILTIN_BENIGN: dict[str, Callable[[random.Random], str]] = {
    "builtin_chat": gen_chat, "builtin_tech": gen_tech,
}
BUILTIN_CAMPAIGN: dict[str, Callable[[random.Random], str]] = {
    "builtin_code": gen_code, "builtin_math": gen_math, "builtin_logic": gen_logic,
    "builtin_roleplay": gen_roleplay, "builtin_instructions": gen_instruction,
}
# the development sets described in /work/shared/data/README.md; other files count as benign
KNOWN_CAMPAIGN_FILES = {"gpteacher_codegen", "gpteacher_roleplay", "gsm8k_train", "alpaca_seed_tasks"}
KNOWN_BENIGN_FILES = {"sharegpt_dev", "arena_hard_v0.1", "alpaca_eval_users"}


class Source:
    def __init__(self, name: str, *, rows: list[Item] | None = None,
                 generator: Callable[[random.Random], str] | None = None):
        self.name = name
        self.rows = rows
        self.generator = generator

    def draw(self, rng: random.Random) -> Item:
        if self.rows is not None:
            return rng.choice(self.rows)
        return Item(self.generator(rng), self.name)

    def __len__(self) -> int:
        return len(self.rows) if self.rows is not None else 10**9


def _load_file(path: Path) -> list[Item]:
    items = []
    with open(path, "rb") as stream:
        for line in stream:
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(row, dict) or not isinstance(row.get("prompt"), str) or not row["prompt"].strip():
                continue
            turns = row.get("turns")
            if isinstance(turns, list):
                turns = [{"role": t["role"], "content": t["content"]} for t in turns
                         if isinstance(t, dict) and t.get("role") in ("user", "assistant", "system")
                         and isinstance(t.get("content"), str)]
                if not any(t["role"] == "user" for t in turns):
                    turns = None
            else:
                turns = None
            response = row.get("response") if isinstance(row.get("response"), str) else None
            items.append(Item(row["prompt"], path.stem, turns or None, response))
    return items


@dataclass
class Pools:
    benign: dict[str, Source]
    campaign: dict[str, Source]


def build_pools(data_dir: str | Path | None, benign_sources: list[str] | None,
                campaign_sources: list[str] | None) -> Pools:
    """The benign and campaign sources to draw from, by name (file stem or builtin_*)."""
    files: dict[str, Path] = {}
    if data_dir is not None:
        folder = Path(data_dir)
        if not folder.is_dir():
            raise ConfigError(f"data folder {str(folder)!r} does not exist")
        files = {p.stem: p for p in sorted(folder.glob("*.jsonl"))}
        if not files:
            raise ConfigError(f"data folder {str(folder)!r} has no .jsonl files")
    file_campaign = [n for n in files if n in KNOWN_CAMPAIGN_FILES]
    file_benign = [n for n in files if n not in KNOWN_CAMPAIGN_FILES]
    available = set(files) | set(BUILTIN_BENIGN) | set(BUILTIN_CAMPAIGN)

    def chosen(names, file_default, builtin_default, side):
        if names is None:
            names = file_default or list(builtin_default)
        names = list(dict.fromkeys(names))
        if not names:
            raise ConfigError(f"no {side} sources chosen")
        unknown = [n for n in names if n not in available]
        if unknown:
            raise ConfigError(f"unknown {side} source(s) {', '.join(unknown)}; available: "
                                     f"{', '.join(sorted(available))}")
        return names

    def make(name):
        if name in files:
            rows = _load_file(files[name])
            if not rows:
                raise ConfigError(f"source {name!r} has no usable rows (each needs a 'prompt' string)")
            return Source(name, rows=rows)
        return Source(name, generator=BUILTIN_BENIGN.get(name) or BUILTIN_CAMPAIGN[name])

    benign = {n: make(n) for n in chosen(benign_sources, file_benign, BUILTIN_BENIGN, "benign")}
    campaign = {n: make(n) for n in chosen(campaign_sources, file_campaign, BUILTIN_CAMPAIGN, "campaign")}
    return Pools(benign, campaign)
