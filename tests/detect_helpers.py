"""Building exchanges by hand for the detection tests."""

from __future__ import annotations

import itertools

from distillshield.records import Exchange, format_ts

START = 1_790_000_000.0  # a fixed moment, so tests do not depend on the clock
_ids = itertools.count()


def exchange(account: str, prompt: str = "hello", *, at: float = 0.0, history: list[dict] | None = None,
             endpoint: str = "/v1/chat/completions", ip: str | None = None,
             user_agent: str | None = "OpenAI/Python 1.99", answer_tokens: int = 120, **params) -> Exchange:
    messages = [*(history or []), {"role": "user", "content": prompt}]
    ip = ip or f"198.51.100.{sum(account.encode()) % 250}"  # one address per account unless told otherwise
    request = {"model": "m", "messages": messages, **params} if endpoint.endswith("chat/completions") \
        else {"model": "m", "prompt": prompt, **params}
    return Exchange(id=f"ex_{next(_ids):026d}", ts=format_ts(START + at), account=account, endpoint=endpoint,
                    request=request, key_id="k1", ip=ip, user_agent=user_agent, status=200,
                    response={"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}],
                              "usage": {"prompt_tokens": 10, "completion_tokens": answer_tokens,
                                        "total_tokens": 10 + answer_tokens}})


def stream_of(account: str, prompts: list[str], *, gap: float = 60.0, start: float = 0.0, **kwargs) -> list[Exchange]:
    return [exchange(account, prompt, at=start + i * gap, **kwargs) for i, prompt in enumerate(prompts)]
