"""The attacker of a lab campaign: accounts that harvest the teacher's answers through a real gateway, over HTTP.

``plan_accounts`` turns the campaign's shapes (the simulator's: ``bulk``, ``many_accounts``,
``reasoning_harvest``, ``logprob_harvest``, and ``cover`` for low-and-slow accounts that hide the harvest
among ordinary chats) into accounts, each with its own prompts, drawn from ``lab.prompts`` and wrapped as
``lab.kinds.Harvest`` does. ``harvest`` plays them all at once against a gateway, each account with its
share of the requests in flight, and records every answer it receives, or refusal, as an exchange record.
Time is compressed: what a campaign spreads over days happens here in minutes.

Each account sends from its own address (``X-Forwarded-For``: the lab's gateway trusts it, standing for
the front proxy a provider has) and client (``User-Agent``), as the simulator gives each campaign shape.

The attacker reacts as a real one would. Always: a 429 waits out ``Retry-After`` and tries again; a 403
``hardened_by_policy`` on a request for log-probabilities drops them and asks again (from then on it
harvests answers only). Without adaptation (``adapt`` off) a 403 ``blocked_by_policy`` loses the account
and the prompts still planned for it. With adaptation on, as a hydra network does: every 429 doubles a
pause it keeps after each request (slowing down; each answer shortens it again); a refused parameter
(``error.param``: log-probabilities, ``n``, ...) is dropped from every later request; and when an account
is blocked, hardened (a parameter refused) or throttled (its announced request limit falls), its
remaining prompts move to a fresh account from the pool it registered up front (``spares``), sent from a
new address and client. Only when the pool is empty does a block lose the prompts.

``harvest`` also sends the ordinary accounts' requests (``lab.ordinary``) at their moments, beside the
attacker, and records what they got back.

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
from dataclasses import dataclass, field

import aiohttp
import orjson
import uvicorn

from distillshield.errors import ConfigError, DistillShieldError
from distillshield.lab import prompts as P
from distillshield.lab.fixtures import vocab as V
from distillshield.lab.kinds import Harvest
from distillshield.lab.ordinary import OrdinaryPlan
from distillshield.lab.world import World, ip_address, ua_chat_client, ua_library
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
    ip: str | None = None            # the address it sends from (X-Forwarded-For: the lab stands for a front proxy)
    user_agent: str | None = None    # its client


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
    _identities(plans, seed)
    # requests in flight are shared in proportion to each account's prompts, so that all finish together
    # (a slow account alone at the end would leave the teacher decoding batches of one)
    total = sum(len(plan.prompts) for plan in plans)
    for plan in plans:
        plan.concurrency = max(1, round(concurrency * len(plan.prompts) / total))
    return plans


def _identities(plans: list[AccountPlan], seed: int) -> None:
    """Addresses and clients as the simulator gives each campaign shape: the small accounts of one campaign
    share a pool of proxies and a few client libraries; a low-and-slow account looks like a chat client."""
    rng = random.Random(f"{seed}/identities")
    proxies = [ip_address(rng, 0.6) for _ in range(rng.randint(3, 8))]
    agents = [ua_library(rng) for _ in range(rng.randint(1, 3))]
    for plan in plans:
        if plan.strategy == "many_accounts":
            plan.ip, plan.user_agent = rng.choice(proxies), rng.choice(agents)
        elif plan.strategy == "cover":
            plan.ip, plan.user_agent = ip_address(rng, 0.3), ua_chat_client(rng)
        else:
            plan.ip, plan.user_agent = ip_address(rng, 0.5), ua_library(rng)


def spare_names(count: int) -> list[str]:
    """The fresh accounts an adaptive attacker registers up front, as hydra networks do."""
    return [f"atk-spare-{i + 1}" for i in range(count)]


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
    planned: int                     # harvest prompts planned (cover chats not counted; 0 for a fresh account)
    answers: int = 0                 # answers received (cover chats included)
    requests: int = 0                # requests sent, refused ones and retries included
    rate_limited: int = 0            # 429s waited out
    logprobs_refused: int = 0        # 403 hardened_by_policy: log-probabilities refused
    blocked_at: int | None = None    # requests sent when the first 403 blocked_by_policy came back
    lost: int = 0                    # planned prompts never answered (blocked, failed)
    failed: int = 0                  # other errors
    capped: int = 0                  # answers cut shorter than asked (and than the teacher's own cap)
    answer_tokens: int = 0
    params_dropped: list[str] = field(default_factory=list)   # refused parameters it stopped sending
    rotated_from: str | None = None  # the account whose remaining prompts this fresh one took over
    rotated_to: str | None = None    # the fresh account it handed its remaining prompts to
    rotated_because: str | None = None
    throttle_seen: bool = False      # its request limit fell below the one it started with

    def as_dict(self) -> dict:
        return {**self.__dict__, "params_dropped": list(self.params_dropped)}


@dataclass
class HarvestResult:
    records: list[Exchange]
    outcomes: dict[str, AccountOutcome]
    seconds: float
    started: float
    ended: float = 0.0
    ordinary: list[Exchange] = field(default_factory=list)    # what the ordinary accounts saw

    @property
    def answers(self) -> list[Exchange]:
        return [r for r in self.records if r.status == 200]


# parameters the gateway refuses together: a refusal of one drops the others too
_REFUSED_TOGETHER = {"logprobs": ("logprobs", "top_logprobs"), "top_logprobs": ("logprobs", "top_logprobs"),
                     "n": ("n", "best_of"), "best_of": ("n", "best_of")}


@dataclass
class _Identity:
    """The account one attacker's stream of prompts is sent from now, with its address and client."""
    account: str
    key: str
    ip: str | None
    user_agent: str | None
    outcome: AccountOutcome
    rpm: int | None = None           # the request limit its first answer announced


class _Player:
    """Plays the attacker's accounts (and the ordinary accounts beside them) against one gateway."""

    def __init__(self, session: aiohttp.ClientSession, *, max_wait: float, user_agent: str, adapt: bool,
                 spares: list[tuple[str, str]], seed: int, answer_cap: int = 0,
                 on_progress: Callable[[int, int], None] | None = None, prompts: int = 0):
        self.session = session
        self.answer_cap = answer_cap
        self.on_progress = on_progress
        self.progress = {"done": 0, "of": prompts}
        self.max_wait = max_wait
        self.user_agent = user_agent
        self.adapt = adapt
        self.spares = list(spares)
        self.rng = random.Random(f"{seed}/adapt")
        self.outcomes: dict[str, AccountOutcome] = {}
        self.records: list[Exchange] = []
        self.ordinary: list[Exchange] = []
        self.began = time.time()

    async def post(self, endpoint: str, body: dict, key: str, ip: str | None, user_agent: str | None):
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                   "User-Agent": user_agent or self.user_agent}
        if ip:
            headers["X-Forwarded-For"] = ip
        async with self.session.post(endpoint, data=orjson.dumps(body), headers=headers) as reply:
            return reply.status, reply.headers, await reply.read()

    async def attacker(self, plan: AccountPlan) -> None:
        outcome = self.outcomes[plan.account] = AccountOutcome(plan.account, plan.strategy,
                                                               sum(not q.cover for q in plan.prompts))
        state = {"ident": _Identity(plan.account, plan.key, plan.ip, plan.user_agent, outcome), "blocked": False,
                 "dropped": set(), "pace": 0.0}
        todo = list(enumerate(plan.prompts))

        async def worker() -> None:
            while todo and not state["blocked"]:
                index, prompt = todo.pop(0)
                if not await self.ask(plan, state, index, prompt):
                    state["ident"].outcome.lost += 0 if prompt.cover else 1
                self.progress["done"] += 1
                if self.on_progress:
                    self.on_progress(self.progress["done"], self.progress["of"])
                if state["pace"]:
                    await asyncio.sleep(state["pace"])

        await asyncio.gather(*(worker() for _ in range(max(1, plan.concurrency))))
        state["ident"].outcome.lost += sum(1 for _, prompt in todo if not prompt.cover)

    def rotate(self, plan: AccountPlan, state: dict, stale: _Identity, why: str) -> bool:
        """Move the rest of the prompts to a fresh account of the pool, from a new address and client; False
        when adaptation is off or the pool is empty (another worker may already have moved: then True)."""
        if state["ident"] is not stale:
            return True
        if not self.adapt or not self.spares:
            return False
        account, key = self.spares.pop(0)
        fresh = AccountOutcome(account, plan.strategy, 0, rotated_from=stale.account)
        self.outcomes[account] = fresh
        stale.outcome.rotated_to, stale.outcome.rotated_because = account, why
        state["ident"] = _Identity(account, key, ip_address(self.rng, 0.5), ua_library(self.rng), fresh)
        return True

    async def ask(self, plan: AccountPlan, state: dict, index: int, prompt: Prompt) -> bool:
        while not state["blocked"]:
            ident: _Identity = state["ident"]
            outcome = ident.outcome
            body = {"model": "teacher", "messages": prompt.messages, **plan.params}
            if plan.seed is not None:
                body["seed"] = plan.seed + index
            for name in state["dropped"]:
                body.pop(name, None)
            sent = time.time()
            outcome.requests += 1
            try:
                status, headers, raw = await self.post(CHAT, body, ident.key, ident.ip, ident.user_agent)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                outcome.failed += 1
                self.records.append(_record(plan, ident, prompt, index, body, sent, 0, None,
                                            {"type": "client", "code": type(exc).__name__, "message": str(exc)}))
                return False
            payload = _json(raw)
            error = payload.get("error") if status != 200 else None
            self.records.append(_record(plan, ident, prompt, index, body, sent, status,
                                        payload if status == 200 else None, error))
            if self.adapt and self._throttled(ident, headers):
                outcome.throttle_seen = True
                self.rotate(plan, state, ident, "throttled")
            if status == 200:
                outcome.answers += 1
                usage = payload.get("usage") or {}
                outcome.answer_tokens += usage.get("completion_tokens", 0)
                choice = (payload.get("choices") or [{}])[0]
                if cut_short(choice.get("finish_reason"), usage.get("completion_tokens", 0), body["max_tokens"],
                             self.answer_cap):
                    outcome.capped += 1
                state["pace"] *= 0.9
                return True
            code = (error or {}).get("code")
            param = (error or {}).get("param")
            if status == 429:
                outcome.rate_limited += 1
                if self.adapt:          # slow down: a pause after each request that doubles with every 429
                    state["pace"] = min(self.max_wait, max(0.25, 2 * state["pace"]))
                await asyncio.sleep(min(self.max_wait, max(0.05, float(headers.get("retry-after") or 1))))
            elif status == 403 and code == "hardened_by_policy" and self.adapt and param in body:
                refused = _REFUSED_TOGETHER.get(param, (param,))
                state["dropped"].update(refused)
                outcome.params_dropped.extend(p for p in refused if p not in outcome.params_dropped)
                outcome.logprobs_refused += param in ("logprobs", "top_logprobs")
                self.rotate(plan, state, ident, "hardened")
            elif status == 403 and code == "hardened_by_policy" and "logprobs" in body:
                outcome.logprobs_refused += 1          # requests in flight may each be refused
                state["dropped"].update(("logprobs", "top_logprobs"))
            elif status == 403 and code == "blocked_by_policy":
                if outcome.blocked_at is None:
                    outcome.blocked_at = outcome.requests
                if not self.rotate(plan, state, ident, "blocked"):
                    state["blocked"] = True
            else:
                outcome.failed += 1
                return False
        return False

    @staticmethod
    def _throttled(ident: _Identity, headers) -> bool:
        """Whether the account's request limit fell below the one its first answer announced."""
        try:
            limit = int(headers.get("x-ratelimit-limit-requests") or 0)
        except ValueError:
            return False
        if not limit:
            return False
        if ident.rpm is None:
            ident.rpm = limit
        return limit < ident.rpm

    async def ordinary_account(self, plan: OrdinaryPlan) -> None:
        """Send an ordinary account's requests at their moments; what came back is recorded, nothing retried."""
        async def one(request) -> None:
            await asyncio.sleep(max(0.0, self.began + request.offset - time.time()))
            sent = time.time()
            try:
                status, _headers, raw = await self.post(request.endpoint, request.body, plan.key, request.ip,
                                                        request.user_agent)
                payload = _json(raw) if not request.body.get("stream") or status != 200 else {}
                error = payload.get("error") if status != 200 else None
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                status, payload, error = 0, {}, {"type": "client", "code": type(exc).__name__, "message": str(exc)}
            self.ordinary.append(Exchange(
                id=new_exchange_id(sent), ts=format_ts(sent), account=plan.account, endpoint=request.endpoint,
                request=request.body, ip=request.ip, user_agent=request.user_agent,
                response=payload if status == 200 and payload else None, status=status,
                latency_ms=round((time.time() - sent) * 1000, 1), error=error, extra={"kind": plan.kind}))

        await asyncio.gather(*(one(request) for request in plan.requests))


def _json(raw: bytes) -> dict:
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {"error": {"type": "client", "code": "bad_json", "message": raw[:200].decode(errors="replace")}}
    return payload if isinstance(payload, dict) else {}


def cut_short(finish_reason: str | None, answer_tokens: int, asked: int, answer_cap: int = 0) -> bool:
    """An answer the shields cut: it stopped for length short of both what was asked and the teacher's own cap
    (0: none), so something between them (a hardened account's max_tokens cap) ended it."""
    return finish_reason == "length" and answer_tokens < min(asked, answer_cap or asked)


async def _play(base_url: str, plans: list[AccountPlan], *, timeout: float, max_wait: float, user_agent: str,
                adapt: bool, spares: list[tuple[str, str]], ordinary: list[OrdinaryPlan], seed: int,
                answer_cap: int, on_progress: Callable[[int, int], None] | None = None) -> HarvestResult:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(base_url, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=None, sock_read=timeout)) as session:
        player = _Player(session, max_wait=max_wait, user_agent=user_agent, adapt=adapt, spares=spares, seed=seed,
                         answer_cap=answer_cap,
                         on_progress=on_progress, prompts=sum(len(plan.prompts) for plan in plans))
        await asyncio.gather(*(player.attacker(plan) for plan in plans),
                             *(player.ordinary_account(plan) for plan in ordinary))
    player.records.sort(key=lambda r: r.id)
    player.ordinary.sort(key=lambda r: r.id)
    ended = time.time()
    return HarvestResult(player.records, player.outcomes, ended - player.began, player.began, ended,
                         ordinary=player.ordinary)


def _record(plan: AccountPlan, ident: _Identity, prompt: Prompt, index: int, body: dict, sent: float, status: int,
            response: dict | None, error: dict | None) -> Exchange:
    """What the attacker saw of one request, as an exchange record (its own id; the answer's id links it)."""
    return Exchange(id=new_exchange_id(sent), ts=format_ts(sent), account=ident.account, endpoint=CHAT,
                    request=body, key_id=ident.key.split("-")[1] if ident.key.count("-") >= 2 else None,
                    ip=ident.ip, user_agent=ident.user_agent,
                    response=response, status=status, latency_ms=round((time.time() - sent) * 1000, 1),
                    error=error, extra={"strategy": plan.strategy, "prompt_index": index, "cover": prompt.cover,
                                        "source": prompt.source, "persona": plan.account})


def harvest(base_url: str, plans: list[AccountPlan], *, timeout: float = 3600.0, max_wait: float = 30.0,
            user_agent: str = "python-aiohttp/lab-attacker", adapt: bool = False,
            spares: list[tuple[str, str]] = (), ordinary: list[OrdinaryPlan] = (), seed: int = 0,
            answer_cap: int = 0, on_progress: Callable[[int, int], None] | None = None) -> HarvestResult:
    """Play every account's prompts against the gateway at ``base_url``; blocks until all are done.

    ``timeout``: the longest a request may wait for its answer. It is long on purpose: the teacher decodes a
    batch of answers together, and on a CPU shared with other work one batch has taken 10 minutes; a client
    that gave up sooner would count those answers as lost to the shields and send again while the gateway
    still counted the first requests as in flight.

    ``adapt``: the attacker reacts to what the gateway does (see the module's docstring); ``spares``:
    (account, API key) of the fresh accounts it registered up front; ``ordinary``: ordinary accounts'
    plans (``lab.ordinary``) sent at the same time, each request at its moment. ``answer_cap``: the teacher's
    own output cap (an answer ending there was not capped by the shields). ``on_progress(done, total)``
    hears of each attacker prompt answered or given up."""
    missing = [plan.account for plan in [*plans, *ordinary] if not plan.key]
    if missing:
        raise ConfigError(f"accounts without an API key: {', '.join(missing)}")
    return asyncio.run(_play(base_url, plans, timeout=timeout, max_wait=max_wait, user_agent=user_agent,
                             adapt=adapt, spares=list(spares), ordinary=list(ordinary), seed=seed,
                             answer_cap=answer_cap, on_progress=on_progress))


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
