"""Per-kind summary of a generated folder: accounts, exchanges, statuses, bytes."""
import json, sys, collections
d = sys.argv[1]
lab = {}
for l in open(d + '/labels.jsonl'):
    r = json.loads(l); lab[r['account']] = r
cnt = collections.Counter(); acc = collections.Counter(k['kind'] for k in lab.values())
st = collections.Counter(); by = collections.Counter(); camp = collections.defaultdict(set)
ts = []
for l in open(d + '/exchanges.jsonl'):
    r = json.loads(l); k = lab[r['account']]['kind']; cnt[k] += 1; by[k] += len(l)
    if r['status'] != 200: st[k] += 1
    ts.append(r['ts'])
for r in lab.values():
    if r['campaign']: camp[r['campaign_id']].add(r['kind'])
print(f"{'kind':28s} {'accts':>5s} {'ex':>7s} {'per':>6s} {'err':>5s} {'MB':>6s}")
for k, _ in sorted(acc.items(), key=lambda x: -cnt[x[0]]):
    print(f"{k:28s} {acc[k]:5d} {cnt[k]:7d} {cnt[k]/acc[k]:6.0f} {st[k]:5d} {by[k]/1e6:6.1f}")
tot = sum(cnt.values()); ca = sum(1 for r in lab.values() if r['campaign'])
cex = sum(cnt[k] for k in acc if any(r['kind'] == k and r['campaign'] for r in lab.values()))
print(f"total accounts={len(lab)} campaign accounts={ca} ({100*ca/len(lab):.1f}%) exchanges={tot} campaign ex={cex} MB={sum(by.values())/1e6:.0f}")
print("campaigns:", {c: sorted(v) for c, v in camp.items()})
print("sorted:", ts == sorted(ts), ts[0], ts[-1])
