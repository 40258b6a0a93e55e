#!/usr/bin/env python3
"""Check a generated folder: required fields, ts format and order, unique ids, labels for every account."""
import json, re, sys
folder = sys.argv[1]
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ids, last, accts, n = set(), "", set(), 0
for i, line in enumerate(open(f"{folder}/exchanges.jsonl"), 1):
    e = json.loads(line); n += 1
    for k in ("id", "ts", "account", "endpoint", "request"):
        assert k in e, (i, k)
    assert e["id"].startswith("ex_") and e["id"] not in ids, (i, e["id"])
    assert TS.match(e["ts"]) and e["ts"] >= last, (i, e["ts"], last)
    ids.add(e["id"]); last = e["ts"]; accts.add(e["account"])
labels = [json.loads(l) for l in open(f"{folder}/labels.jsonl")]
assert {x["account"] for x in labels} == accts
assert all(set(x) >= {"account", "kind", "campaign", "campaign_id"} for x in labels)
print(f"ok: {n} exchanges, {len(accts)} accounts, {sum(x['campaign'] for x in labels)} campaign")
