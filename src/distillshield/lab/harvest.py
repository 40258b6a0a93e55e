"""The attacker of a lab campaign: accounts that harvest the teacher's answers through a real gateway, over HTTP.

``plan_accounts`` turns the campaign's shapes (the simulator's: ``bulk``, ``many_accounts``,
``reasoning_harvest``, ``logprob_harvest``, and ``cover`` for low-and-slow accounts that hide the harvest
among ordinary chats) into accounts, each with its own prompts, drawn from ``lab.prompts`` and wrapped as
``lab.kinds.Harvest`` does. ``harvest`` plays them all at once against a gateway, each account with its
share of the requests in flight, and records every answer it receives, or refusal, as an exchange record.
Time is compressed: what a campaign spreads over days happens here in minutes.

The attacker reacts as a real one would: a 429 waits out ``Retry-After`` and tries again; a 403
``hardened_by_policy`` on a request for log-probabilities drops them and asks again (from then on it
harvests answers only); a 403 ``blocked_by_policy`` loses the account and the prompts still planned for it.

``TeacherGateway`` starts the gateway in this process (uvicorn in a thread, on a free loopback port) over a
teacher backend that several gateways can share, so the model is loaded once per campaign.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
import orjson
import uvicorn

from distillshield.errors import ConfigError, DistillShieldError
from distillshield.lab import prompts as P
from distillshield.lab.fixtures import vocab as V
from distillshield.lab.kinds import Harvest
from distillshield.lab.world import World
from distillshield.records import Exchange, Settings, format_ts, new_exchange_id
from distillshield.server import UVICORN_OPTIONS, build_gateway
from distillshield.store import Store

CHAT = "/v1/chat/completions"


# -- the attacker's accounts -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Strategy:
    name: str
    weight: float          # share of the harvest one account of this shape takes, relative to the others
    help: str


STRATEGIES: dict[str, Strategy] = {s.name: s for s in [
    Strategy("bulk", 4.0, "one account, single-turn task prompts in the campaign's wrappers, as fast as allowed"),
    Strategy("many_accounts", 1.0, "small accounts sharing one task stream and wrappers (one campaign)"),
    Strategy("reasoning_harvest", 2.0, "maths and logic prompts that ask for step-by-step reasoning"),
    Strategy("logprob_harvest", 2.0, "task prompts asking for the top-k log-probabilities of every token"),
    Strategy("cover", 2.0, "low and slow: the harvest hidden among as many ordinary chats"),
]}


@dataclass
class Prompt:
    messages: list[dict]
    source: str
    cover: bool = False


@dataclass
class AccountPlan:
    account: str
    strategy: str
    prompts: list[Prompt]
    params: dict                     # sent with every request (max_tokens, temperature, logprobs, ...)
    concurrency: int                 # requests it keeps in flight
    seed: int | None = None          # request i carries seed + i, so the teacher's sampling is reproducible
    key: str = ""                    # the API key, once the account exists


def split_quota(total: int, weights: list[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainders), every share at least 1 when possible."""
    if not weights:
        return []
    exact = [total * w / sum(weights) for w in weights]
    shares = [int(x) for x in exact]
    for i in sorted(range(len(weights)), key=lambda i: exact[i] - shares[i], reverse=True)[:total - sum(shares)]:
        shares[i] += 1
    return shares


def plan_accounts(accounts: dict[str, int], answers: int, *, seed: int, max_tokens: int, top_logprobs: int,
                  concurrency: int, cover_share: float = 0.5) -> list[AccountPlan]:
    """The attacker's accounts, each with the prompts it will send; the same seed gives the same plan."""
    unknown = sorted(set(accounts) - set(STRATEGIES))
    if unknown:
        raise ConfigError(f"unknown attacker strateg{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; "
                          f"strategies: {', '.join(STRATEGIES)}")
    pools = P.build_pools(None, None, None)
    world = World(seed, 0.0, 86400.0, pools)        # the simulator's world, used here only for its prompt pools
    order = [(name, i) for name in STRATEGIES for i in range(accounts.get(name, 0))]
    quotas = split_quota(answers, [STRATEGIES[name].weight for name, _ in order])
    shared = Harvest(random.Random(f"{seed}/many_accounts"), world)     # one campaign's stream for its accounts
    maths = [n for n in pools.campaign if n in ("builtin_math", "builtin_logic")]
    plans = []
    for (name, index), quota in zip(order, quotas):
        rng = random.Random(f"{seed}/{name}/{index}")
        params: dict = {"max_tokens": max_tokens, "temperature": rng.choice([0.7, 0.8, 1.0])}
        prompts: list[Prompt] = []
        if name == "many_accounts":
            prompts = [_task(shared.next(rng)) for _ in range(quota)]
        elif name == "reasoning_harvest":
            stream = Harvest(rng, world, names=maths or None)
            for _ in range(quota):
                item = stream.next()
                prompts.append(Prompt([{"role": "user", "content": f"{item.prompt}\n\n{rng.choice(V.REASONING_ASKS['en'])}"}],
                                      item.source))
        elif name == "cover":
            stream = Harvest(rng, world, wrappers=1)
            while sum(not p.cover for p in prompts) < quota:
                if rng.random() < cover_share:
                    prompts.append(Prompt([{"role": "user", "content": P.gen_chat(rng)}], "builtin_chat", cover=True))
                else:
                    prompts.append(_task(stream.next()))
        else:
            stream = Harvest(rng, world)
            prompts = [_task(stream.next()) for _ in range(quota)]
            if name == "logprob_harvest":
                params.update(logprobs=True, top_logprobs=top_logprobs)
        plans.append(AccountPlan(f"atk-{name.replace('_', '-')}-{index + 1}", name, prompts, params, 1,
                                 seed=rng.randrange(2 ** 31)))
    # requests in flight are shared in proportion to each account's prompts, so that all finish together
    # (a slow account alone at the end would leave the teacher decoding batches of one)
    total = sum(len(plan.prompts) for plan in plans)
    for plan in plans:
        plan.concurrency = max(1, round(concurrency * len(plan.prompts) / total))
    return plans


def _task(item) -> Prompt:
    return Prompt([{"role": "user", "content": item.prompt}], item.source)


def eval_prompts(count: int, seed: int) -> list[Prompt]:
    """Held-out prompts from the campaign sources (plain, no wrappers), never among the harvested ones."""
    pools = P.build_pools(None, None, None)
    rng = random.Random(f"{seed}/held-out")
    names = sorted(pools.campaign)
    return [Prompt([{"role": "user", "content": pools.campaign[names[i % len(names)]].draw(rng).prompt}],
                   names[i % len(names)]) for i in range(count)]


# -- playing them against a gateway --------------------------------------------------------------------------
@dataclass
class AccountOutcome:
    account: str
    strategy: str
    planned: int                     # harvest prompts planned (cover chats not counted)
    answers: int = 0                 # answers received (cover chats included)
    requests: int = 0                # requests sent, refused ones and retries included
    rate_limited: int = 0            # 429s waited out
    logprobs_refused: int = 0        # 403 hardened_by_policy: log-probabilities refused
    blocked_at: int | None = None    # requests sent when the first 403 blocked_by_policy came back
    lost: int = 0                    # planned prompts never answered (blocked, failed)
    failed: int = 0                  # other errors
    capped: int = 0                  # answers cut shorter than the max_tokens asked for
    answer_tokens: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class HarvestResult:
    records: list[Exchange]
    outcomes: dict[str, AccountOutcome]
    seconds: float
    started: float
    ended: float = 0.0

    @property
    def answers(self) -> list[Exchange]:
        return [r for r in self.records if r.status == 200]


async def _play(base_url: str, plans: list[AccountPlan], *, timeout: float, max_wait: float,
                user_agent: str, on_progress: Callable[[int, int], None] | None = None) -> HarvestResult:
    outcomes = {p.account: AccountOutcome(p.account, p.strategy, sum(not q.cover for q in p.prompts)) for p in plans}
    records: list[Exchange] = []
    finished = {"prompts": 0, "of": sum(len(plan.prompts) for plan in plans)}
    began = time.time()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(base_url, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=timeout)) as session:

        async def account(plan: AccountPlan) -> None:
            outcome = outcomes[plan.account]
            state = {"blocked": False, "logprobs": bool(plan.params.get("logprobs"))}
            todo = list(enumerate(plan.prompts))
            headers = {"Authorization": f"Bearer {plan.key}", "User-Agent": user_agent}

            async def worker() -> None:
                while todo and not state["blocked"]:
                    index, prompt = todo.pop(0)
                    if not await ask(index, prompt):
                        outcome.lost += 0 if prompt.cover else 1
                    finished["prompts"] += 1
                    if on_progress:
                        on_progress(finished["prompts"], finished["of"])

            async def ask(index: int, prompt: Prompt) -> bool:
                while not state["blocked"]:
                    body = {"model": "teacher", "messages": prompt.messages, **plan.params}
                    if plan.seed is not None:
                        body["seed"] = plan.seed + index
                    if not state["logprobs"]:
                        body.pop("logprobs", None)
                        body.pop("top_logprobs", None)
                    sent = time.time()
                    outcome.requests += 1
                    try:
                        async with session.post(CHAT, data=orjson.dumps(body), headers={
                                **headers, "Content-Type": "application/json"}) as reply:
                            raw = await reply.read()
                            status, retry_after = reply.status, reply.headers.get("retry-after")
                    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                        outcome.failed += 1
                        records.append(_record(plan, prompt, index, body, sent, 0, None,
                                               {"type": "client", "code": type(exc).__name__, "message": str(exc)}))
                        return False
                    try:
                        payload = orjson.loads(raw)
                    except orjson.JSONDecodeError:
                        payload = {"error": {"type": "client", "code": "bad_json", "message": raw[:200].decode(errors="replace")}}
                    error = payload.get("error") if status != 200 else None
                    records.append(_record(plan, prompt, index, body, sent, status, payload if status == 200 else None, error))
                    if status == 200:
                        outcome.answers += 1
                        usage = payload.get("usage") or {}
                        outcome.answer_tokens += usage.get("completion_tokens", 0)
                        choice = (payload.get("choices") or [{}])[0]
                        if choice.get("finish_reason") == "length" and usage.get("completion_tokens", 0) < body["max_tokens"]:
                            outcome.capped += 1
                        return True
                    code = (error or {}).get("code")
                    if status == 429:
                        outcome.rate_limited += 1
                        await asyncio.sleep(min(max_wait, max(0.05, float(retry_after or 1))))
                    elif status == 403 and code == "hardened_by_policy" and "logprobs" in body:
                        outcome.logprobs_refused += 1          # requests in flight may each be refused
                        state["logprobs"] = False
                    elif status == 403 and code == "blocked_by_policy":
                        state["blocked"] = True
                        if outcome.blocked_at is None:
                            outcome.blocked_at = outcome.requests
                    else:
                        outcome.failed += 1
                        return False
                return False

            await asyncio.gather(*(worker() for _ in range(max(1, plan.concurrency))))
            outcome.lost += sum(1 for _, prompt in todo if not prompt.cover)

        await asyncio.gather(*(account(plan) for plan in plans))
    records.sort(key=lambda r: r.id)
    ended = time.time()
    return HarvestResult(records, outcomes, ended - began, began, ended)


def _record(plan: AccountPlan, prompt: Prompt, index: int, body: dict, sent: float, status: int,
            response: dict | None, error: dict | None) -> Exchange:
    """What the attacker saw of one request, as an exchange record (its own id; the answer's id links it)."""
    return Exchange(id=new_exchange_id(sent), ts=format_ts(sent), account=plan.account, endpoint=CHAT,
                    request=body, key_id=plan.key.split("-")[1] if plan.key.count("-") >= 2 else None,
                    response=response, status=status, latency_ms=round((time.time() - sent) * 1000, 1),
                    error=error, extra={"strategy": plan.strategy, "prompt_index": index, "cover": prompt.cover,
                                        "source": prompt.source})


def harvest(base_url: str, plans: list[AccountPlan], *, timeout: float = 600.0, max_wait: float = 30.0,
            user_agent: str = "python-aiohttp/lab-attacker",
            on_progress: Callable[[int, int], None] | None = None) -> HarvestResult:
    """Play every account's prompts against the gateway at ``base_url``; blocks until all are done.
    ``on_progress(done, total)`` hears of each prompt answered or given up."""
    missing = [plan.account for plan in plans if not plan.key]
    if missing:
        raise ConfigError(f"accounts without an API key: {', '.join(missing)}")
    return asyncio.run(_play(base_url, plans, timeout=timeout, max_wait=max_wait, user_agent=user_agent,
                             on_progress=on_progress))


# -- the admin side --------------------------------------------------------------------------------------------
class Admin:
    """The gateway's admin API, with an admin key: accounts, keys, policy events, the risk table."""

    def __init__(self, base_url: str, admin_key: str):
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {admin_key}", "Content-Type": "application/json"}

    def _call(self, method: str, path: str, body: dict | None = None):
        async def go():
            async with aiohttp.ClientSession() as session:
                async with session.request(method, self.base_url + path, headers=self.headers,
                                           data=orjson.dumps(body) if body is not None else None) as reply:
                    data = orjson.loads(await reply.read())
                    if reply.status >= 400:
                        message = (data.get("error") or {}).get("message", data)
                        raise DistillShieldError(f"admin API {method} {path}: {reply.status} {message}")
                    return data
        return asyncio.run(go())

    def create_account(self, account: str, *, policy: str = "auto", **limits) -> str:
        """Create the account (if new) and one key for it; returns the key."""
        self._call("POST", "/admin/accounts", {"id": account, **limits})
        if policy != "auto":
            self._call("PATCH", f"/admin/accounts/{account}", {"policy": policy})
        return self._call("POST", "/admin/keys", {"account": account, "label": "lab campaign"})["key"]

    def policy_events(self) -> list[dict]:
        return self._call("GET", "/admin/policy-events?limit=100000")["data"]

    def risk(self) -> dict:
        return self._call("GET", "/admin/risk?all=1")


# -- the gateway under attack ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SharedBackend:
    """A started backend lent to several gateways in turn: their start and close leave it running."""

    def __init__(self, backend):
        self.backend = backend
        self.name = backend.name

    async def start(self) -> None:
        pass

    async def aclose(self) -> None:
        pass

    async def models(self):
        return await self.backend.models()

    async def handle(self, request):
        return await self.backend.handle(request)


class TeacherGateway:
    """A DistillShield gateway in this process, on a free loopback port, with a fresh store and an admin key;
    hardened accounts' answers carry their canaries as the served gateway's do."""

    def __init__(self, settings: Settings, backend, *, detector_model=None):
        self.settings = settings
        self.store = Store(settings.store_url)
        self.store.create_account("lab-admin", is_admin=True, rpm=0, tpm=0, concurrency=0, tpd=0)
        _, self.admin_key = self.store.create_key("lab-admin", label="lab campaign")
        self.gateway = build_gateway(settings, self.store, backend, detector_model=detector_model)
        self.port = free_port()
        config = uvicorn.Config(self.gateway.app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on", loop="asyncio", timeout_graceful_shutdown=10, **UVICORN_OPTIONS)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="lab-gateway", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin(self) -> Admin:
        return Admin(self.url, self.admin_key)

    def __enter__(self) -> TeacherGateway:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise DistillShieldError("the lab's gateway did not start")
            time.sleep(0.02)
        return self

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until every request so far is in the log and the live detector has scored it."""
        self.gateway.log_writer.wait_written(timeout)
        if self.gateway.detector is not None:
            self.gateway.detector.wait_idle(timeout)

    def exchanges(self) -> list[bytes]:
        """The gateway's own traffic log, as exchange JSON, oldest first (the lab's admin calls included)."""
        return [text.encode() for text in self.store.iter_exchange_json()]

    def __exit__(self, *_exc) -> None:
        self.server.should_exit = True
        self.thread.join(60)
        self.store.close()
