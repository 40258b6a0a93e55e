"""Print a few records of one kind, messages shortened."""
import json, sys, random
d, kind, k = sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 2
lab = {json.loads(l)['account']: json.loads(l)['kind'] for l in open(d + '/labels.jsonl')}
recs = [json.loads(l) for l in open(d + '/exchanges.jsonl') if lab[json.loads(l)['account']] == kind] if False else []
with open(d + '/exchanges.jsonl') as f:
    for l in f:
        i = l.find('"account": "') + 12
        if lab[l[i:l.index('"', i)]] == kind:
            recs.append(l)
random.seed(int(sys.argv[4]) if len(sys.argv) > 4 else 0)
def short(s, n=160):
    s = s if isinstance(s, str) else json.dumps(s)
    return (s[:n] + '…(%d)' % len(s)) if len(s) > n else s
for l in random.sample(recs, min(k, len(recs))):
    r = json.loads(l)
    req = dict(r['request']); msgs = req.pop('messages', None); prompt = req.pop('prompt', None)
    print('---', r['ts'], r['account'], r['key_id'], r['ip'], r['user_agent'][:40], r['endpoint'], r['status'], r.get('latency_ms'))
    print('   params:', short({k: v for k, v in req.items() if k != 'tools'}, 300))
    if prompt: print('   PROMPT:', short(prompt, 300))
    for m in msgs or []:
        print('   %s: %s' % (m['role'], short(m.get('content') or m.get('tool_calls'), 200)))
    if 'response' in r:
        c = r['response']['choices'][0]
        print('   => ', short(c.get('message', {}).get('content') or c.get('text') or c.get('message'), 200), r['response']['usage'])
    else:
        print('   ERR', r.get('error'))
