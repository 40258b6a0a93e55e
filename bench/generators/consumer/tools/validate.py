"""Check a generated folder against the exchange/label schema."""
import json, re, sys
d = sys.argv[1]
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
labels = {}
for l in open(d + '/labels.jsonl'):
    r = json.loads(l)
    assert set(r) == {"account", "kind", "campaign", "campaign_id"}, r
    assert (r["campaign_id"] is not None) == r["campaign"], r
    labels[r["account"]] = r
ids = set(); prev = ""; seen = set(); n = 0; bad = 0
for l in open(d + '/exchanges.jsonl'):
    r = json.loads(l); n += 1
    for k in ("id", "ts", "account", "endpoint", "request"):
        assert k in r, (k, r["id"])
    assert r["id"].startswith("ex_") and r["id"] not in ids; ids.add(r["id"])
    assert TS.match(r["ts"]) and r["ts"] >= prev, r["ts"]; prev = r["ts"]
    assert r["account"] in labels; seen.add(r["account"])
    req = r["request"]
    if r["endpoint"] == "/v1/completions":
        assert isinstance(req.get("prompt"), str)
    else:
        assert r["endpoint"] == "/v1/chat/completions" and isinstance(req.get("messages"), list) and req["messages"]
        for m in req["messages"]:
            assert m["role"] in ("system", "user", "assistant", "tool"), m
            assert isinstance(m.get("content"), str) or m.get("tool_calls"), m
    if r["status"] == 200:
        u = r["response"]["usage"]
        assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"] and u["completion_tokens"] >= 0
    else:
        assert "error" in r and "response" not in r
assert seen == set(labels), (len(seen), len(labels))
print("ok", n, "exchanges", len(labels), "accounts")
