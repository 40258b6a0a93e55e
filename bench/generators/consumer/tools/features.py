"""Per-kind medians of simple per-account features, to spot accidental giveaways."""
import json, sys, collections, statistics as st, math
d = sys.argv[1]
lab = {json.loads(l)['account']: json.loads(l) for l in open(d + '/labels.jsonl')}
acc = collections.defaultdict(lambda: {"ts": [], "ips": set(), "sys": 0, "plen": [], "n": 0, "temp": 0, "maxt": 0, "stream": 0, "multi": 0, "models": set()})
def tsec(s):
    import datetime
    return datetime.datetime.fromisoformat(s.replace('Z', '+00:00')).timestamp()
for l in open(d + '/exchanges.jsonl'):
    r = json.loads(l); a = acc[r['account']]; a['n'] += 1
    a['ts'].append(tsec(r['ts'])); a['ips'].add(r['ip'])
    q = r['request']; ms = q.get('messages') or []
    a['sys'] += any(m['role'] == 'system' for m in ms)
    a['multi'] += sum(m['role'] == 'assistant' for m in ms) > 0
    u = [m for m in ms if m['role'] == 'user']
    a['plen'].append(len((u[-1].get('content') or '') if u else q.get('prompt', '')))
    a['temp'] += 'temperature' in q; a['maxt'] += 'max_tokens' in q; a['stream'] += bool(q.get('stream'))
    a['models'].add(q['model'])
by = collections.defaultdict(list)
for k, a in acc.items():
    ts = sorted(a['ts']); gaps = [y - x for x, y in zip(ts, ts[1:]) if y > x]
    hours = collections.Counter(int(t // 3600) % 24 for t in ts)
    active_h = len(hours)
    cv = (st.pstdev(gaps) / st.mean(gaps)) if len(gaps) > 2 else float('nan')
    n = a['n']
    by[lab[k]['kind'] + ('*' if lab[k]['campaign'] else '')].append(
        (n, len(a['ips']), a['sys'] / n, st.median(a['plen']), a['temp'] / n, a['maxt'] / n, a['stream'] / n, a['multi'] / n,
         st.median(gaps) if gaps else float('nan'), cv, active_h))
cols = ["n", "ips", "sys", "plen", "temp", "maxt", "strm", "multi", "gap_med", "gapCV", "hrs"]
print(f"{'kind':27s}" + "".join(f"{c:>8s}" for c in cols))
for k in sorted(by, key=lambda k: ('*' in k, k)):
    rows = by[k]
    meds = [st.median([r[i] for r in rows if not (isinstance(r[i], float) and math.isnan(r[i]))] or [float('nan')]) for i in range(len(cols))]
    print(f"{k:27s}" + "".join(f"{m:8.2f}" if m < 100 else f"{m:8.0f}" for m in meds))
