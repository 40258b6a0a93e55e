#!/usr/bin/env python3
"""Labelled gateway traffic of a B2B / enterprise LLM API provider, with distillation campaigns mixed in.

usage: generate.py --out DIR --seed N --scale S
"""
import argparse
import json
import os
import random
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from core import T0, MODELS, Account, Clock, Emitter, apply_limits, finalize, load_data  # noqa: E402
from benign import BENIGN, SHARED_NET, AGENCY_BASES, sdk_ua  # noqa: E402
from core import block24, ips_in, cloud_ips, pick_tz  # noqa: E402
from campaigns import CAMPAIGNS  # noqa: E402


MIGRATING = {"summarization_pipeline", "ticket_classifier", "translation_service", "structured_extraction", "content_moderation",
             "rag_qa", "tool_agent", "support_chatbot", "catalog_copywriting", "nl2sql_bi", "consumer_app_backend", "agency_client_account",
             "labelling_vendor", "automation"}


class Generator:
    def __init__(self, seed, scale):
        self.r = random.Random(seed)
        self.scale = scale
        self.days = random.Random("days-%d" % seed).choice([3, 4, 5])
        self.clock = Clock(self.days)
        self.data = load_data()
        self.E = Emitter(self)
        self.accounts = []
        self.volume_factor = 0.3

    def date_of(self, t):
        return time.strftime("%Y-%m-%d", time.gmtime(T0 + t))

    def shared_group(self, kind, base, accts):
        """Several genuine accounts behind one network: a campus NAT, or an agency running client projects."""
        r = self.r
        tz = pick_tz(r)
        if kind == "campus_chat_user":
            nat = ips_in(r, block24(r, ["128.{}", "129.{}", "130.{}", "131.{}", "141.{}", "155.{}", "193.{}", "134.{}"]), r.randint(2, 5))
        else:
            nat = cloud_ips(r, r.randint(1, 3))
            ua = sdk_ua(r)
        for a in accts:
            a.tz = tz
            (base or r.choice(AGENCY_BASES))(self, a)
            for ev in a.events:
                if kind == "agency_client_account":
                    ev["ip"] = r.choice(nat)
                    ev["user_agent"] = ua
                elif r.random() < 0.7:
                    ev["ip"] = r.choice(nat)

    def add_probes(self, a):
        """Operators check a fresh key by hand before pointing their harvester at it."""
        r = self.r
        first = min(e["_t"] for e in a.events)
        ref = min(a.events, key=lambda e: e["_t"])
        model = ref["request"].get("model", "mx-large")
        for i in range(r.randint(1, 3)):
            t = first - r.uniform(30, 1800) * (i + 1)
            if t < 0:
                break
            if r.random() < 0.35:
                self.E.models(a, t, ua=r.choice([ref["user_agent"], "curl/8.5.0"]), ip=ref["ip"])
                continue
            self.E.chat(a, t, [{"role": "user", "content": r.choice(["hi", "test", "Hello", "What model are you?", "ping", "Say OK"])}], model,
                        out_tok=r.randint(2, 30), ua=r.choice([ref["user_agent"], "curl/8.5.0", "python-requests/2.32.3"]), ip=ref["ip"])

    def exhaust_quota(self, a):
        """Prepaid credit runs out: a few calls get 429 insufficient_quota, then the client gives up (or moves on)."""
        r = self.r
        a.events.sort(key=lambda e: e["_t"])
        cut = r.randrange(len(a.events) // 2, len(a.events))
        tail = a.events[cut:cut + r.randint(1, 5)]
        a.events = a.events[:cut]
        for e in tail:
            e.pop("response", None)
            e.pop("ttft_ms", None)
            e.update(status=429, latency_ms=round(r.uniform(3, 20), 1), _noretry=True,
                     error={"type": "insufficient_quota", "message": "You exceeded your current quota, please check your plan and billing details."})
            a.events.append(e)

    def migrate_model(self, a):
        """The customer switches to another model version mid-window (a deploy)."""
        r = self.r
        chat = [e for e in a.events if e["endpoint"] == "/v1/chat/completions"]
        if len(chat) < 20:
            return
        old = chat[0]["request"]["model"]
        options = [m for fam in MODELS.values() if old in fam for m in fam if m != old]
        if not options:
            return
        new = r.choice(options)
        cut = r.uniform(0.2, 0.8) * self.clock.span()
        for e in chat:
            if e["_t"] >= cut and e["request"].get("model") == old:
                e["request"]["model"] = new
                if e.get("response"):
                    e["response"]["model"] = new

    def new_account(self, kind, campaign_id=None):
        a = Account(self, kind, campaign_id)
        self.accounts.append(a)
        return a

    def build(self):
        r = self.r
        jobs = []
        for kind, (fn, n) in BENIGN.items():
            count = max(1, int(round(n * self.scale * r.uniform(0.85, 1.15))))
            for _ in range(count):
                a = self.new_account(kind)
                if kind in ("chat_user", "dev_trial") and r.random() < 0.12:
                    a.lo = r.uniform(0, self.clock.span() * 0.85)  # signed up during the window
                elif kind in MIGRATING and r.random() < 0.08:
                    a.lo = r.uniform(0.1, 0.6) * self.clock.span()  # a customer going live during the window
                elif kind in MIGRATING and r.random() < 0.05:
                    a.hi = r.uniform(0.4, 0.9) * self.clock.span()  # a customer winding down / moving off
                jobs.append((fn, [a]))
        for kind, (base, n_groups, size) in SHARED_NET.items():
            for _ in range(max(1, int(round(n_groups * self.scale)))):
                accts = [self.new_account(kind) for _ in range(r.randint(*size))]
                jobs.append((self.shared_group, [kind, base, accts]))
        cnum = 0
        for kind, (fn, n_campaigns, per, least) in CAMPAIGNS.items():
            for _ in range(max(1, int(round(n_campaigns * min(1.0, self.scale))))):
                cnum += 1
                cid = "camp_%02d" % cnum
                k = max(least, int(round(per * self.scale * r.uniform(0.8, 1.25)))) if per > 1 else 1
                jobs.append((fn, [self.new_account(kind, cid) for _ in range(k)]))
        r.shuffle(jobs)
        for fn, accts in jobs:
            if fn == self.shared_group:
                fn(*accts)
            elif accts[0].campaign_id is None:
                fn(self, accts[0])
            else:
                fn(self, accts)
        keep = min(1.0, 0.4 + 0.6 * self.scale)  # small runs thin campaign volume so campaigns do not dominate them
        for a in self.accounts:
            if a.campaign_id is not None and keep < 1.0:
                a.events = [e for e in a.events if r.random() < keep]
            if a.campaign_id is not None and a.events and r.random() < 0.5:
                self.add_probes(a)
            quota_p = 0.12 if a.campaign_id is not None else 0.03 if a.kind in ("chat_user", "dev_trial", "prompt_engineering", "campus_chat_user") else 0.01
            if len(a.events) >= 8 and r.random() < quota_p:
                self.exhaust_quota(a)
            if a.campaign_id is None and a.kind in MIGRATING and r.random() < 0.25:
                self.migrate_model(a)
        for a in self.accounts:
            span = self.clock.span()
            a.events = [e for e in a.events if 0 <= e["_t"] < span]
            apply_limits(self, a)
            a.events = [e for e in a.events if e["_t"] < span]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args(argv)
    t_start = time.time()
    os.makedirs(args.out, exist_ok=True)
    g = Generator(args.seed, args.scale)
    g.build()
    g.accounts = sorted((a for a in g.accounts if a.events), key=lambda a: a.id)
    n = finalize([a.events for a in g.accounts], os.path.join(args.out, "exchanges.jsonl"))
    with open(os.path.join(args.out, "labels.jsonl"), "w", encoding="utf-8") as f:
        for a in g.accounts:
            f.write(json.dumps({"account": a.id, "kind": a.kind, "campaign": a.campaign_id is not None, "campaign_id": a.campaign_id}) + "\n")
    kinds = Counter(a.kind for a in g.accounts)
    ex = Counter()
    for a in g.accounts:
        ex[a.kind] += len(a.events)
    here = os.path.dirname(os.path.abspath(__file__))
    readme_src = os.path.join(here, "README.md")
    if os.path.exists(readme_src) and os.path.abspath(args.out) != here:
        with open(readme_src, encoding="utf-8") as f:
            text = f.read()
        text += "\n## This run\n\nseed %d, scale %g, %d days from 2026-11-19T00:00Z, %d accounts (%d campaign), %d exchanges.\n\n| kind | accounts | exchanges |\n|---|---|---|\n" % (
            args.seed, args.scale, g.days, len(g.accounts), sum(1 for a in g.accounts if a.campaign_id), n)
        text += "".join("| %s | %d | %d |\n" % (k, kinds[k], ex[k]) for k in sorted(kinds))
        with open(os.path.join(args.out, "README.md"), "w", encoding="utf-8") as f:
            f.write(text)
    print("accounts=%d campaign=%d exchanges=%d days=%d seconds=%.1f" % (
        len(g.accounts), sum(1 for a in g.accounts if a.campaign_id), n, g.days, time.time() - t_start))
    for k in sorted(kinds):
        print("  %-28s %5d accounts %7d exchanges" % (k, kinds[k], ex[k]))


if __name__ == "__main__":
    main()
