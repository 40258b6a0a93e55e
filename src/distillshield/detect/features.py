"""What one exchange says about its sender, computed once per exchange, off the hot path.

Nothing here keys on a data set's strings: features describe the shape of a
request (turns, parameters, length), the intent of its wording in many
languages (asking for reasoning, asking for a grade) and a coarse skeleton of
its template (the first and last words with numbers masked).
"""

from __future__ import annotations

import ipaddress
import re
import zlib
from re import _constants, _parser   # the pattern's parse tree, to find the characters a match begins with
from dataclasses import dataclass
from functools import lru_cache

from distillshield.records import Exchange

# Requests to spell out reasoning, in the languages campaigns have been reported to use and more.
_REASONING = re.compile("|".join([
    r"step[- ]by[- ]step", r"show (?:your|all|the) (?:work|working|steps|reasoning)", r"explain (?:your|the) reasoning",
    r"reason(?:ing)? (?:through|carefully|before)", r"think (?:carefully|through|it through|out loud|aloud|before)",
    r"chain[- ]of[- ]thought", r"walk me through", r"let'?s think", r"explain each step", r"justify (?:your|each)",
    r"detailed (?:reasoning|derivation|explanation)", r"before (?:answering|giving the answer)",
    r"paso a paso", r"razona", r"explica tu razonamiento", r"muestra (?:tu|el) (?:trabajo|razonamiento)",
    r"[ée]tape par [ée]tape", r"explique(?:z)? ton raisonnement", r"votre raisonnement", r"raisonne",
    r"schritt f[üu]r schritt", r"begr[üu]nde", r"denke? (?:schrittweise|nach)", r"deine[nr]? (?:denkweg|begr[üu]ndung)",
    r"passo (?:a|per) passo", r"ragionamento", r"passo a passo", r"racioc[ií]nio",
    r"шаг за шагом", r"пошагово", r"рассужд", r"объясни", r"покажи решение",
    r"一步一步", r"逐步", r"分步", r"推理过程", r"思考过程", r"解题过程", r"详细解释",
    r"ステップバイステップ", r"段階的", r"順を追って", r"考え方", r"推論",
    r"단계별", r"차근차근", r"추론", r"adım adım", r"krok po kroku", r"stap voor stap",
    r"<think>",
]), re.IGNORECASE)

# Using the model as a judge: rubric scoring and pairwise preference.
_GRADING = re.compile("|".join([
    r"\brubric\b", r"on a scale (?:of|from) \d+", r"\bscore (?:the|this|each|it|from|between|of)\b",
    r"\brate (?:the|this|each|it|from|on|how)\b", r"\bgrade (?:the|this|each)\b", r"(?:as|you are) an? (?:impartial )?(?:judge|grader|evaluator)",
    r"evaluate (?:the|this|each) (?:response|answer|output|completion)s?", r"which (?:response|answer|output) is better",
    r"\b[1-9]\s*(?:-|to)\s*10\b.*\b(?:score|rating|scale)\b", r"\b(?:score|rating)\s*:\s*\[?\d",
    r"calificaci[oó]n", r"punt[uú]a", r"[ée]value(?:z)? (?:la|cette) r[ée]ponse", r"note (?:de|sur) \d+",
    r"bewerte", r"punktzahl", r"valuta (?:la|questa) risposta", r"оцени", r"по шкале", r"打分", r"评分", r"评估",
    r"採点", r"評価して", r"점수",
]), re.IGNORECASE)

def _first_chars(items) -> set[str]:
    """The characters one of which a match of the parsed ``items`` begins with; ``ValueError`` when that is
    not a plain set (a branch that may begin with a repeat, a category such as ``\\d``, nothing at all)."""
    for op, value in items:
        if op is _constants.AT:              # \b and the like consume nothing: the next item begins the match
            continue
        if op is _constants.LITERAL:
            return {chr(value)}
        if op is _constants.IN and all(kind in (_constants.LITERAL, _constants.RANGE) for kind, _ in value):
            return set().union(*({chr(v)} if kind is _constants.LITERAL else set(map(chr, range(v[0], v[1] + 1)))
                                 for kind, v in value))
        if op is _constants.BRANCH:
            return set().union(*(_first_chars(branch) for branch in value[1]))
        if op is _constants.SUBPATTERN:
            return _first_chars(value[3])
        raise ValueError(f"no plain first character: {op}")
    raise ValueError("a branch may match the empty string")


def _searched_faster(pattern: re.Pattern) -> re.Pattern:
    """``pattern`` behind a look-ahead for the characters a match can begin with, same flags: the same
    matches, but a position that cannot begin one is passed over in one test instead of one per branch
    (``re`` makes no such test itself for a case-insensitive alternation). Unchanged when not simple."""
    try:
        chars = _first_chars(_parser.parse(pattern.pattern, pattern.flags))
    except (ValueError, TypeError, AttributeError):
        return pattern
    return re.compile(f"(?=[{''.join(map(re.escape, sorted(chars)))}])(?:{pattern.pattern})", pattern.flags)


_REASONING_SEARCH = _searched_faster(_REASONING)
_GRADING_SEARCH = _searched_faster(_GRADING)

_WORD = re.compile(r"\w+", re.UNICODE)
_NUMBER = re.compile(r"\d+")
_SKELETON_WORDS = 5
_INSTRUCTION_CHARS = 600
_ANSWER_KEY_WORDS = 40
_HISTORY_KEYS = 8


@dataclass(slots=True)
class ExchangeFeatures:
    epoch: float
    account: str
    ip: str | None
    user_agent: str | None
    endpoint: str
    prompt: str                 # the newest user text (the instruction being answered)
    prompt_chars: int
    user_turns: int
    has_history: bool           # earlier assistant answers are part of the request
    single_turn: bool
    n: int
    wants_logprobs: bool
    max_tokens: int | None
    temperature: float | None
    top_p: float | None
    asks_reasoning: bool
    asks_grading: bool
    completion_tokens: int | None
    prefix_key: int             # hash of the first words, numbers masked
    suffix_key: int             # hash of the last words, numbers masked
    refused: bool
    history_answer_keys: tuple[int, ...] = ()   # the earlier answers the request carries, as text keys
    answer_key: int | None = None               # the answer this exchange was served, as a text key
    skeleton_only: bool = False                 # the prompt is no longer than its opening and closing words
    client_key: int | None = None               # the client's fingerprint: agent, body fields in order, sampling
    shape_key: int | None = None                # the request's shape: what a harness fixes, less agent and sampling
    network: str | None = None                  # the client address's /24 (IPv4) or /48 (IPv6) range


def _text_of(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict)
                        and isinstance(part.get("text"), str))
    return ""


def _last_user_index(messages: list) -> int:
    """The index of the newest user turn (-1: none)."""
    return max((i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "user"), default=-1)


def _prompt_and_turns(request: dict) -> tuple[str, int, bool]:
    messages = request.get("messages")
    if isinstance(messages, list):
        user_texts = [_text_of(m.get("content")) for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        last_user = _last_user_index(messages)
        history = any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages[:max(last_user, 0)])
        return (user_texts[-1] if user_texts else ""), len(user_texts), history
    prompt = request.get("prompt")
    if isinstance(prompt, list):
        prompt = prompt[0] if prompt and isinstance(prompt[0], str) else ""
    return (prompt if isinstance(prompt, str) else ""), 1, False


def text_key(text: str) -> int:
    """A key for "the same answer text": whitespace-insensitive, over the opening, where clients that
    trim or re-wrap a conversation still agree."""
    return zlib.crc32(" ".join(text.split()[:_ANSWER_KEY_WORDS]).encode())


def _history_answer_keys(request: dict) -> tuple[int, ...]:
    """Keys of the non-empty assistant turns before the newest user turn (tool calls carry no text)."""
    messages = request.get("messages")
    if not isinstance(messages, list):
        return ()
    last_user = _last_user_index(messages)
    keys = []
    for message in messages[:max(last_user, 0)]:
        if isinstance(message, dict) and message.get("role") == "assistant":
            text = _text_of(message.get("content"))
            if text.strip():
                keys.append(text_key(text))
    return tuple(keys[-_HISTORY_KEYS:])


def _answer_key(response) -> int | None:
    choices = response.get("choices") if isinstance(response, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    message = choices[0].get("message")
    text = _text_of(message.get("content")) if isinstance(message, dict) else choices[0].get("text")
    return text_key(text) if isinstance(text, str) and text.strip() else None


def _client_key(user_agent: str | None, request: dict) -> int:
    """What one client program sends the same way every time: its agent string, the fields of its body in
    the order it writes them, and its sampling settings."""
    shape = (user_agent or "", tuple(request), _form(request.get("temperature")), _form(request.get("top_p")),
             _form(request.get("max_tokens") or request.get("max_completion_tokens")))
    return zlib.crc32(repr(shape).encode())


_SHAPE_VALUE_CHARS = 64
_SHAPE_ITEMS = 8
_SHAPE_FIELDS = ("model", "max_tokens", "max_completion_tokens", "n", "stream", "logprobs", "top_logprobs", "stop",
                 "response_format")   # a seed's value is often drawn per request: its presence is in the field names


def _shape_key(endpoint: str, request: dict) -> int:
    """What one harness sends whatever agent string and temperature it rotates through: the endpoint, the
    body's field names (in any order) and the values of the fields that fix the answer's form."""
    shape = (endpoint, tuple(sorted(request)), tuple(_form(request.get(name)) for name in _SHAPE_FIELDS))
    return zlib.crc32(repr(shape).encode())


def _form(value, depth: int = 0) -> object:
    """A field's value as a shape holds it: scalars as they are (long strings cut), containers by type, size
    and their first few items one level down (a client's body is never walked in full: a deeply nested
    ``stop`` costs what a flat one does)."""
    if isinstance(value, (list, tuple, dict)):
        if depth >= 1:
            return (type(value).__name__, len(value))
        items = sorted(value.items(), key=lambda item: str(item[0]))[:_SHAPE_ITEMS] if isinstance(value, dict) \
            else enumerate(value[:_SHAPE_ITEMS])
        return (type(value).__name__, len(value), tuple((str(key)[:_SHAPE_VALUE_CHARS], _form(item, depth + 1))
                                                         for key, item in items))
    if isinstance(value, str):
        return value[:_SHAPE_VALUE_CHARS]
    return value if value is None or isinstance(value, (bool, int, float)) else type(value).__name__


def _skeleton_keys(text: str) -> tuple[int, int]:
    words = _WORD.findall(_NUMBER.sub("#", text.lower()))
    prefix = " ".join(words[:_SKELETON_WORDS])
    suffix = " ".join(words[-_SKELETON_WORDS:])
    return zlib.crc32(prefix.encode()), zlib.crc32(suffix.encode())


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def extract(exchange: Exchange) -> ExchangeFeatures:
    request = exchange.request
    prompt, user_turns, has_history = _prompt_and_turns(request)
    usage = (exchange.response or {}).get("usage") if isinstance(exchange.response, dict) else None
    completion_tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    logprobs = request.get("logprobs")
    max_tokens = request.get("max_tokens") or request.get("max_completion_tokens")
    n = request.get("n")
    prefix_key, suffix_key = _skeleton_keys(prompt)
    return ExchangeFeatures(
        epoch=exchange.epoch, account=exchange.account, ip=exchange.ip, user_agent=exchange.user_agent,
        endpoint=exchange.endpoint, prompt=prompt, prompt_chars=len(prompt), user_turns=user_turns,
        has_history=has_history, single_turn=user_turns <= 1 and not has_history,
        n=n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1,
        wants_logprobs=bool(logprobs) or bool(request.get("top_logprobs")),
        max_tokens=max_tokens if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) else None,
        temperature=_number(request.get("temperature")), top_p=_number(request.get("top_p")),
        asks_reasoning=bool(_REASONING_SEARCH.search(_ends(prompt))) or _system_asks_reasoning(request),
        asks_grading=bool(_GRADING_SEARCH.search(_ends(prompt))),
        completion_tokens=completion_tokens if isinstance(completion_tokens, int) else None,
        prefix_key=prefix_key, suffix_key=suffix_key,
        refused=isinstance(exchange.status, int) and exchange.status >= 400,
        history_answer_keys=_history_answer_keys(request) if has_history else (),
        answer_key=_answer_key(exchange.response),
        client_key=_client_key(exchange.user_agent, request),
        shape_key=_shape_key(exchange.endpoint, request),
        skeleton_only=len(_WORD.findall(prompt)) <= 2 * _SKELETON_WORDS,
        network=network_of(exchange.ip),
    )


@lru_cache(maxsize=1 << 16)   # addresses repeat: every request, and every link, reads them again
def network_of(address: str | None) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) range of a client address, None for anything that is not one; an IPv4
    client seen by a dual-stack listener (``::ffff:a.b.c.d``) is its IPv4 range."""
    if not address:
        return None
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    if parsed.version == 6 and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return str(ipaddress.ip_network(f"{parsed}/{24 if parsed.version == 4 else 48}", strict=False))


def _ends(text: str) -> str:
    """The opening and closing of a long prompt: where instructions sit around pasted material."""
    return text if len(text) <= 2 * _INSTRUCTION_CHARS else text[:_INSTRUCTION_CHARS] + "\n" + text[-_INSTRUCTION_CHARS:]


def _system_asks_reasoning(request: dict) -> bool:
    messages = request.get("messages")
    if not isinstance(messages, list):
        return False
    return any(isinstance(m, dict) and m.get("role") in ("system", "developer")
               and _REASONING_SEARCH.search(_ends(_text_of(m.get("content")))) for m in messages)
