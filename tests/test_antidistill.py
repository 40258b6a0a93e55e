"""Antidistillation sampling: the penalty's sign and size on a tiny proxy, the mode reaching only hardened
answers of the built-in backend (a tiny teacher stands in for SmolLM2, so these run in seconds), its settings."""

from __future__ import annotations

import asyncio
import copy
import string

import httpx
import orjson
import pytest
import torch
from torch.nn import functional as F

from distillshield.backends.antidistill import Proxy, load_proxy, save_proxy
from distillshield.backends.base import BackendRequest
from distillshield.backends.builtin import BuiltinBackend
from distillshield.backends.smallgpt import Student, StudentConfig
from distillshield.errors import ConfigError
from distillshield.lab.proxy import ProxyConfig, downstream_gradient
from distillshield.lab.student import Example, answer_log_probs, make_batch
from distillshield.records import Settings
from distillshield.server import UVICORN_OPTIONS, build_gateway, make_backend
from distillshield.store import Store

from servers import ServerThread

VOCAB = 48                                     # the alphabet and the end
ALPHABET = " " + string.ascii_lowercase + string.digits + ".,?!:'-()\n"   # ids 1..47; 0 is the end
PROMPT = [{"role": "user", "content": "name two colours"}]
STRENGTH = 40.0


class CharTokenizer:
    """One id per character, 0 ends the answer: enough of a tokenizer for the built-in backend."""
    eos_token_id = pad_token_id = 0

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return [ALPHABET.index(c) + 1 if c in ALPHABET else ALPHABET.index("?") + 1 for c in text.lower()]

    def __call__(self, text: str) -> dict:
        return {"input_ids": self.encode(text)}

    def apply_chat_template(self, messages, add_generation_prompt=True, tokenize=True):
        return self.encode("".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant: ")

    def decode(self, ids, skip_special_tokens=True) -> str:
        return "".join(ALPHABET[i - 1] for i in ids if i > 0)


def tiny_teacher():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256,
                         bos_token_id=None, eos_token_id=0, pad_token_id=0)
    return LlamaForCausalLM(config).eval()


class TinyBackend(BuiltinBackend):
    def _load_model(self):
        return CharTokenizer(), tiny_teacher()


def tiny_proxy_student(seed: int = 1) -> Student:
    return Student(StudentConfig(vocab_size=VOCAB, context=64, layers=1, heads=2, d_model=16, seed=seed)).eval()


def downstream_examples(count: int = 6, seed: int = 3) -> list[Example]:
    rng = torch.Generator().manual_seed(seed)
    return [Example(torch.randint(1, VOCAB, (5,), generator=rng).tolist(),
                    torch.randint(1, VOCAB, (8,), generator=rng).tolist()) for _ in range(count)]


def downstream_loss(model: Student, examples: list[Example]) -> float:
    batch = make_batch(examples, model.config.context)
    with torch.no_grad():
        return float(-answer_log_probs(model, batch).gather(1, batch.targets[:, None]).mean())


@pytest.fixture(scope="module")
def proxy_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("proxy")
    model = tiny_proxy_student()
    gradient, _ = downstream_gradient(model, downstream_examples())
    save_proxy(model, gradient, folder, note="test")
    return folder


# the penalty ------------------------------------------------------------------------------------------------
def test_the_penalty_is_the_downstream_gradient_along_each_tokens_training_direction():
    model, examples = tiny_proxy_student(), downstream_examples()
    gradient, loss = downstream_gradient(model, examples)
    assert loss == pytest.approx(downstream_loss(model, examples), rel=1e-5)
    prefix = [5, 9, 2, 17]
    penalty = Proxy(model, gradient).penalty(prefix)
    # exactly: Δ(x) = <g, ∇θ log p(x | prefix; θ)>, one backward pass per token
    exact = torch.empty(VOCAB)
    for token in range(VOCAB):
        model.zero_grad(set_to_none=True)
        context = torch.tensor([prefix])
        log_p = F.log_softmax(model.logits(model.hidden(context, torch.ones_like(context, dtype=torch.bool))[0, -1]),
                              dim=-1)[token]
        log_p.backward()
        exact[token] = sum((p.grad * gradient[name]).sum() for name, p in model.named_parameters() if name in gradient)
    model.zero_grad(set_to_none=True)
    assert torch.allclose(penalty, exact, rtol=2e-2, atol=2e-3 * float(exact.abs().max()))
    # its mean under the proxy's own distribution is zero (Σ p ∇log p = ∇Σ p = 0): some tokens help, some hurt
    with torch.no_grad():
        context = torch.tensor([prefix])
        p = F.softmax(model.logits(model.hidden(context, torch.ones_like(context, dtype=torch.bool))[0, -1]), dim=-1)
    assert float((p * penalty).sum()) == pytest.approx(0.0, abs=1e-2 * float(penalty.abs().max()))
    assert penalty.max() > 0 > penalty.min()


@pytest.mark.parametrize("pick", ["most", "least"])
def test_training_the_proxy_on_a_token_moves_its_downstream_loss_the_way_the_penalty_says(pick):
    model, examples = tiny_proxy_student(), downstream_examples()
    gradient, before = downstream_gradient(model, examples)
    prefix = [5, 9, 2, 17]
    penalty = Proxy(model, gradient).penalty(prefix)
    token = int(penalty.argmax() if pick == "most" else penalty.argmin())
    # one SGD step of a distiller on that token: θ + η ∇ log p(token | prefix)
    student, rate = copy.deepcopy(model), 1e-2
    context = torch.tensor([prefix])
    log_p = F.log_softmax(student.logits(student.hidden(context, torch.ones_like(context, dtype=torch.bool))[0, -1]),
                          dim=-1)[token]
    log_p.backward()
    with torch.no_grad():
        for parameter in student.parameters():
            parameter.add_(parameter.grad, alpha=rate)
    change = downstream_loss(student, examples) - before
    assert (change > 0) == (pick == "most") and change != 0
    assert change == pytest.approx(rate * float(penalty[token]), rel=0.25)


# the backend: only hardened answers change ------------------------------------------------------------------
def answer(backend, *, hardened: bool, temperature: float, seed: int = 7, max_tokens: int = 12) -> str:
    async def ask():
        request = BackendRequest("POST", "/v1/chat/completions", b"", {
            "model": "m", "messages": PROMPT, "max_tokens": max_tokens, "temperature": temperature, "seed": seed},
            "acct", hardened=hardened)
        reply = await backend.handle(request)
        return orjson.loads(reply.body)["choices"][0]["message"]["content"], request.applied
    return asyncio.run(ask())


@pytest.fixture(scope="module")
def backends(proxy_folder):
    made = {}
    for name, strength in (("plain", 0.0), ("antidistill", STRENGTH)):
        backend = TinyBackend(antidistill_proxy=str(proxy_folder), antidistill_strength=strength, max_batch_size=4)
        asyncio.run(backend.start())
        made[name] = backend
    yield made
    for backend in made.values():
        asyncio.run(backend.aclose())


def greedy_by_hand(backend, strength: float, max_tokens: int = 12) -> str:
    """What antidistillation sampling decodes at temperature 0: argmax(logits + λ Δ), token by token."""
    proxy = load_proxy(backend.antidistill_proxy)
    ids = CharTokenizer().apply_chat_template(PROMPT)
    out = []
    with torch.no_grad():
        for _ in range(max_tokens):
            logits = backend.model(input_ids=torch.tensor([ids + out])).logits[0, -1]
            token = int((logits + strength * proxy.penalty(ids + out)).argmax())
            if token == 0:
                break
            out.append(token)
    return CharTokenizer().decode(out)


def test_antidistillation_changes_only_hardened_answers(backends):
    plain, antidistill = backends["plain"], backends["antidistill"]
    for temperature, seed in ((0.0, 1), (1.0, 1), (1.0, 2)):
        ordinary, applied = answer(antidistill, hardened=False, temperature=temperature, seed=seed)
        assert (ordinary, applied) == (answer(plain, hardened=False, temperature=temperature, seed=seed)[0], [])
        # the backend without the mode leaves hardened answers alone too
        assert answer(plain, hardened=True, temperature=temperature, seed=seed) == (ordinary, [])
    hardened, applied = answer(antidistill, hardened=True, temperature=0.0)
    assert applied == [f"antidistill:{STRENGTH:g}"]
    assert hardened == greedy_by_hand(antidistill, STRENGTH)
    assert hardened != answer(antidistill, hardened=False, temperature=0.0)[0] == greedy_by_hand(antidistill, 0.0)
    sampled = {answer(antidistill, hardened=True, temperature=1.0, seed=s)[0] for s in range(3)}
    assert sampled != {answer(antidistill, hardened=False, temperature=1.0, seed=s)[0] for s in range(3)}


# through the gateway ----------------------------------------------------------------------------------------
def test_a_hardened_account_gets_antidistilled_answers_over_http_and_an_ordinary_one_does_not(tmp_path, proxy_folder):
    settings = Settings(store_url=str(tmp_path / "gw.db"), watermark="off", canary=False, detect=False,
                        policy_harden_antidistill=STRENGTH, policy_harden_antidistill_proxy=str(proxy_folder))
    store = Store(settings.store_url)
    keys = {}
    for account, policy in (("ordinary", "auto"), ("suspect", "harden")):
        store.create_account(account, rpm=0, tpm=0, concurrency=0, tpd=0)
        store.update_account(account, policy=policy)
        keys[account] = store.create_key(account)[1]
    backend = TinyBackend(antidistill_proxy=settings.policy_harden_antidistill_proxy,
                          antidistill_strength=settings.policy_harden_antidistill)
    gateway = build_gateway(settings, store, backend)
    body = {"model": "m", "messages": PROMPT, "max_tokens": 12, "temperature": 0}
    with ServerThread(gateway.app, **UVICORN_OPTIONS) as server:
        def ask(account, stream=False):
            reply = httpx.post(server.url + "/v1/chat/completions", json={**body, "stream": stream}, timeout=60,
                               headers={"Authorization": f"Bearer {keys[account]}"})
            assert reply.status_code == 200, reply.text
            if not stream:
                return reply.json()["choices"][0]["message"]["content"]
            events = [orjson.loads(line[6:]) for line in reply.text.splitlines()
                      if line.startswith("data: {")]
            return "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"])
        answers = {(account, stream): ask(account, stream) for account in keys for stream in (False, True)}
        gateway.log_writer.wait_written()
    assert answers[("ordinary", False)] == answers[("ordinary", True)] == greedy_by_hand(backend, 0.0)
    assert answers[("suspect", False)] == answers[("suspect", True)] == greedy_by_hand(backend, STRENGTH)
    assert answers[("suspect", False)] != answers[("ordinary", False)]
    records = [orjson.loads(text) for text in store.iter_exchange_json()]
    suspect = [r for r in records if r["account"] == "suspect"]
    assert len(suspect) == 2 and all(f"antidistill:{STRENGTH:g}" in r["policy"]["actions"] for r in suspect)
    assert all("policy" not in r for r in records if r["account"] == "ordinary")


# settings ---------------------------------------------------------------------------------------------------
def test_the_settings_refuse_what_cannot_be_done(tmp_path, proxy_folder):
    with pytest.raises(ConfigError, match="policy_harden_antidistill must be a number"):
        Settings(policy_harden_antidistill=-1)
    with pytest.raises(ConfigError, match="needs policy_harden_antidistill_proxy"):
        make_backend(Settings(policy_harden_antidistill=1.0))
    with pytest.raises(ConfigError, match="is not a folder"):
        make_backend(Settings(policy_harden_antidistill=1.0, policy_harden_antidistill_proxy=str(tmp_path / "nope")))
    with pytest.raises(ConfigError, match="needs the built-in model"):
        make_backend(Settings(policy_harden_antidistill=1.0, policy_harden_antidistill_proxy=str(proxy_folder),
                              upstream_url="http://127.0.0.1:9"))
    with pytest.raises(ConfigError, match="has no model.pt, gradient.pt, config.json"):
        load_proxy(tmp_path)
    backend = make_backend(Settings(policy_harden_antidistill=2.5, policy_harden_antidistill_proxy=str(proxy_folder),
                                    watermark="off"))
    assert (backend.antidistill_proxy, backend.antidistill_strength) == (str(proxy_folder), 2.5)
    off = make_backend(Settings(policy_harden_antidistill_proxy=str(tmp_path / "nope"), watermark="off"))
    assert off.antidistill_strength == 0.0            # off: the folder is not even looked at
    with pytest.raises(ConfigError, match="steps must be a whole number"):
        ProxyConfig(steps=-1)


def test_a_proxy_of_another_vocabulary_is_refused(tmp_path):
    model = Student(StudentConfig(vocab_size=VOCAB + 1, context=32, layers=1, heads=2, d_model=8))
    save_proxy(model, {name: torch.ones_like(p) for name, p in model.named_parameters()}, tmp_path)
    backend = TinyBackend(antidistill_proxy=str(tmp_path), antidistill_strength=1.0)
    with pytest.raises(ConfigError, match="must share the teacher's tokenizer"):
        asyncio.run(backend.start())


def test_lab_proxy_builds_a_proxy_the_backend_loads(tmp_path):
    from distillshield.lab.proxy import build_proxy

    backend = TinyBackend(max_batch_size=4)
    asyncio.run(backend.start())
    try:
        prompts = [f"say {word}" for word in ("one", "two", "three", "four", "five", "six", "seven", "eight")]
        about = build_proxy(backend, ProxyConfig(prompts=5, held_out=3, max_tokens=8, steps=3, d_model=16),
                            tmp_path, prompts=prompts, say=lambda _text: None)
    finally:
        asyncio.run(backend.aclose())
    # an empty answer is no example, but never moves a prompt from one side to the other
    assert 1 <= about["trained_on"] <= 5 and 1 <= about["held_out"] <= 3 and about["steps"] == 3
    assert about["downstream_nll"] > 0 and about["gradient_norm"] > 0
    proxy = load_proxy(tmp_path)
    assert proxy.vocab_size == VOCAB and proxy.penalty([1, 2, 3]).shape == (VOCAB,)
