"""Checks an output folder: required fields, ts order and format, unique ids, labels; prints per-kind volumes."""
import json, sys, collections, re
d = sys.argv[1]
labels = [json.loads(l) for l in open(d + "/labels.jsonl")]
lab = {x["account"]: x for x in labels}
assert len(lab) == len(labels)
prev = ""; ids = set(); per = collections.Counter(); ipset = collections.defaultdict(set)
tsre = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
for line in open(d + "/exchanges.jsonl"):
    e = json.loads(line)
    for k in ("id", "ts", "account", "endpoint", "request"):
        assert k in e, k
    assert tsre.match(e["ts"]), e["ts"]
    assert e["ts"] >= prev; prev = e["ts"]
    assert e["id"] not in ids; ids.add(e["id"])
    assert e["account"] in lab
    if e["endpoint"] == "/v1/completions": assert "prompt" in e["request"]
    elif e["endpoint"] == "/v1/chat/completions": assert "messages" in e["request"]
    if e["status"] != 200: assert "error" in e
    per[e["account"]] += 1; ipset[e["account"]].add(e["ip"])
print("ok", len(ids), "last ts", prev, "accounts w/o traffic", sum(1 for a in lab if a not in per))
camp = [a for a in lab if lab[a]["campaign"]]
print("campaign accounts", len(camp), "of", len(lab), "%.1f%%" % (100*len(camp)/len(lab)), "campaign ids", len({lab[a]["campaign_id"] for a in camp}))
by = collections.defaultdict(list)
for a, n in per.items(): by[lab[a]["kind"]].append((n, len(ipset[a])))
for k in sorted(by):
    ns = sorted(x[0] for x in by[k]); ips = sorted(x[1] for x in by[k])
    print("%-28s n=%4d  req med=%5d p90=%5d max=%5d   ips med=%4d max=%4d" % (k, len(ns), ns[len(ns)//2], ns[int(len(ns)*0.9)], ns[-1], ips[len(ips)//2], ips[-1]))
