"""The campaign's report: one HTML file (Jinja2) with its plots embedded as PNG (matplotlib), readable offline.

``write_report(result, path)`` needs only what ``run_campaign`` returns, so a test can render it from a
hand-made result.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from distillshield.audit.report import png, pyplot

LEVEL_COLOURS = {"flag": "#d4a017", "throttle": "#e07b00", "harden": "#c0392b", "block": "#5b0f8a"}
ARM_COLOURS = {"off": "#7f8c8d", "on": "#2471a3"}


def timeline_plot(result) -> str:
    """Answers harvested per attacker account over time, one panel per arm, with the moments the gateway acted
    (a dot per level change) and where the attacker moved to a spare account (a cross)."""
    plt = pyplot()
    arms = list(result.arms.values())
    figure, axes = plt.subplots(1, len(arms), figsize=(6.2 * len(arms), 3.6), squeeze=False, sharey=True)
    for axis, arm in zip(axes[0], arms):
        start = arm.harvest.started
        by_account: dict[str, list[float]] = {}
        for record in arm.harvest.answers:
            by_account.setdefault(record.account, []).append(record.epoch - start)
        for account in arm.harvest.outcomes:
            times = sorted(by_account.get(account, []))
            line, = axis.step([0] + times, range(len(times) + 1), where="post", label=account, linewidth=1.4)
            for event in arm.events:
                if event["account"] == account and event["new_level"] != "none":
                    moment = event["ts"] - start
                    count = sum(1 for t in times if t <= moment)
                    axis.plot([moment], [count], marker="o", markersize=7, color=LEVEL_COLOURS.get(event["new_level"], "k"),
                              markeredgecolor="white", zorder=5)
            outcome = arm.harvest.outcomes[account]
            if outcome.rotated_to:          # where the attacker left this account for a spare one
                axis.plot([times[-1] if times else 0], [len(times)], marker="x", markersize=8, color=line.get_color(),
                          zorder=6)
        if any(o.rotated_to for o in arm.harvest.outcomes.values()):
            axis.plot([], [], marker="x", linestyle="", color="#444", label="moved to a spare account")
        for level, colour in LEVEL_COLOURS.items():
            if any(e["new_level"] == level for e in arm.events):
                axis.plot([], [], marker="o", linestyle="", color=colour, label=f"→ {level}")
        axis.set_title(f"shields {arm.arm}: {arm.harvested} answers in {arm.harvest.seconds:.0f} s")
        axis.set_xlabel("seconds since the harvest began")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7, loc="upper left")
    axes[0][0].set_ylabel("answers received")
    return png(figure)


def loss_plot(result) -> str:
    """Each student's training NLL per answer token, smoothed over a few steps."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(6.2, 3.6))
    for student in result.students:
        width = max(1, len(student.loss) // 20)
        smooth = [sum(student.loss[max(0, i - width + 1):i + 1]) / len(student.loss[max(0, i - width + 1):i + 1])
                  for i in range(len(student.loss))]
        axis.plot(smooth, label=f"shields {student.arm}, {student.mode}", color=ARM_COLOURS.get(student.arm),
                  linestyle="-" if student.mode == "sequence" else "--")
    if result.students:
        axis.axhline(result.students[0].before.nll, color="#999", linewidth=0.8, linestyle=":")
        axis.text(0, result.students[0].before.nll, " untrained, held-out", fontsize=7, va="bottom", color="#666")
    axis.set_xlabel("training step")
    axis.set_ylabel("NLL per answer token (nats)")
    axis.set_title("training loss on harvested answers")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return png(figure)


def gain_plot(result) -> str:
    """The gain each student bought, by distillation mode, with the shields off and on side by side."""
    plt = pyplot()
    modes = list(dict.fromkeys(s.mode for s in result.students))
    arms = list(dict.fromkeys(s.arm for s in result.students))
    figure, axis = plt.subplots(figsize=(5.2, 3.6))
    width = 0.8 / max(1, len(arms))
    for j, arm in enumerate(arms):
        for i, mode in enumerate(modes):
            student = next((s for s in result.students if s.arm == arm and s.mode == mode), None)
            if student is None:
                continue
            x = i + (j - (len(arms) - 1) / 2) * width
            axis.bar(x, student.gain, width * 0.92, color=ARM_COLOURS.get(arm),
                     label=f"shields {arm}" if i == 0 else None)
            axis.text(x, student.gain, f"{student.gain:.2f}\n({100 * student.gain / student.before.nll:.0f}%)",
                      ha="center", va="bottom", fontsize=8)
    axis.set_xticks(range(len(modes)), [f"{m}-level" for m in modes])
    axis.set_ylabel("held-out NLL gain (nats / token)")
    axis.set_title("what distillation bought the attacker")
    axis.margins(y=0.25)
    axis.grid(alpha=0.3, axis="y")
    axis.legend(fontsize=8, loc="lower right")
    return png(figure)


SERVICE_COLOURS = {"served": "#27ae60", "altered": "#f1c40f", "refused": "#c0392b", "rate_limited": "#e07b00",
                   "failed": "#7f8c8d"}


def service_plot(result) -> str:
    """Each ordinary account's requests by what became of them, one bar per arm: served as asked, served
    altered by the policy, refused by the policy, rate-limited (429), failed otherwise."""
    plt = pyplot()
    accounts = list(dict.fromkeys(name for arm in result.arms.values() for name in arm.ordinary))
    arms = list(result.arms.values())
    figure, axis = plt.subplots(figsize=(max(6.2, 0.9 * len(accounts) * len(arms)), 3.6))
    width = 0.8 / max(1, len(arms))
    for j, arm in enumerate(arms):
        for i, name in enumerate(accounts):
            entry = arm.ordinary.get(name)
            if entry is None:
                continue
            x = i + (j - (len(arms) - 1) / 2) * width
            parts = {"served": entry.served - entry.altered, "altered": entry.altered, "refused": entry.refused,
                     "rate_limited": entry.rate_limited, "failed": entry.failed}
            bottom = 0
            for part, count in parts.items():
                axis.bar(x, count, width * 0.9, bottom=bottom, color=SERVICE_COLOURS[part],
                         edgecolor=ARM_COLOURS.get(arm.arm), linewidth=1.2,
                         label=part.replace("_", "-") if i == 0 and j == 0 else None)
                bottom += count
            axis.text(x, bottom, arm.arm, ha="center", va="bottom", fontsize=7,
                      color="#c0392b" if entry.flag else "#444")
    axis.set_xticks(range(len(accounts)), [a.replace("user-", "") for a in accounts], rotation=20, ha="right",
                    fontsize=8)
    axis.set_ylabel("requests")
    axis.set_title("the ordinary accounts' service, shields off and on (red label: flagged)")
    axis.grid(alpha=0.3, axis="y")
    axis.legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    return png(figure)


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Distillation campaign {{ name }}</title>
<style>
 body { font: 14px/1.45 system-ui, sans-serif; max-width: 1180px; margin: 2em auto; padding: 0 1em; color: #222; }
 h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
 table { border-collapse: collapse; margin: .6em 0; font-size: 13px; }
 th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; vertical-align: top; }
 th { background: #f4f6f8; } td.l, th.l { text-align: left; }
 .big { display: flex; gap: 1.2em; flex-wrap: wrap; margin: 1em 0; }
 .big div { background: #f4f6f8; border-radius: 6px; padding: .6em 1em; min-width: 10em; }
 .big b { display: block; font-size: 1.5em; }
 .muted { color: #666; } pre { white-space: pre-wrap; margin: 0; font: 12px/1.35 ui-monospace, monospace; }
 img { max-width: 100%; }
</style></head><body>
<h1>Distillation campaign <code>{{ name }}</code></h1>
<p class="muted">{{ created }} · teacher {{ manifest_teacher }} · {{ config.accounts | dictsort | map('join', ' × ') | join(', ') }}
 · {{ config.answers }} prompts per arm, max_tokens {{ config.max_tokens }} · seed {{ config.seed }} · {{ "%.0f" | format(seconds) }} s in all</p>

<div class="big">
 <div>answers harvested<b>{{ summary.harvested }}</b><span class="muted">shields {{ summary.headline.arm }}</span></div>
 <div>student gain<b>{{ fmt(summary.student_gain) }} nats/token</b><span class="muted">{{ pct(summary.student_gain_relative) }} of the untrained student's NLL</span></div>
 <div>accounts flagged<b>{{ summary.flagged_accounts if summary.flagged_accounts is not none else "—" }}{% if summary.flagged_accounts is not none %} / {{ summary.accounts }}{% endif %}</b><span class="muted">first after {{ summary.first_flagged_after if summary.first_flagged_after is not none else "—" }} requests</span></div>
 <div>ordinary accounts<b>{{ summary.ordinary.refused }} refused · {{ summary.ordinary.rate_limited }} rate-limited · {{ summary.ordinary.throttled }} throttled · {{ summary.ordinary.altered }} altered</b><span class="muted">of {{ summary.ordinary.requests }} requests from {{ summary.ordinary.accounts }} accounts ({{ summary.ordinary.flagged_accounts }} flagged), shields {{ summary.headline.arm }}</span></div>
 {% for mode, cost in (summary.get("defence_cost") or {}).items() %}<div>defence cost ({{ mode }})<b>{{ fmt(cost) }} nats/token</b><span class="muted">gain lost with the shields on</span></div>{% endfor %}
</div>

<h2>What the attacker harvested, and what the gateway did</h2>
<img src="data:image/png;base64,{{ timeline }}" alt="answers per account over time">
{% for arm in arms %}
<h3>Shields {{ arm.name }}</h3>
<p>{{ arm.summary.harvested }} answers ({{ arm.summary.answer_tokens }} tokens, {{ arm.summary.with_logprobs }} with log-probabilities)
 from {{ arm.summary.requests }} requests in {{ arm.summary.seconds }} s:
 {{ arm.summary.task_answers }} of the {{ arm.summary.planned }} harvest prompts answered (cover chats aside); {{ arm.summary.lost }} planned prompts lost,
 {{ arm.summary.rate_limited }} rate-limited retries, {{ arm.summary.logprobs_refused }} log-probability refusals,
 {{ arm.summary.blocked_accounts }} account(s) blocked, {{ arm.summary.capped }} answers capped.</p>
<table><tr><th class="l">account</th><th class="l">strategy</th><th>planned</th><th>answers</th><th>requests</th><th>429</th>
<th>logprobs refused</th><th>blocked at request</th><th>lost</th><th class="l">first flagged</th><th>requests before</th><th>detector's flagged_after</th><th class="l">final level</th></tr>
{% for o in arm.outcomes %}{% set f = arm.flags.get(o.account) %}
<tr><td class="l">{{ o.account }}</td><td class="l">{{ o.strategy }}</td><td>{{ o.planned }}</td><td>{{ o.answers }}</td><td>{{ o.requests }}</td>
<td>{{ o.rate_limited }}</td><td>{{ o.logprobs_refused }}</td><td>{{ o.blocked_at if o.blocked_at is not none else "" }}</td><td>{{ o.lost }}</td>
<td class="l">{% if f %}{{ f.level }} at {{ f.seconds }} s{% else %}<span class="muted">never</span>{% endif %}</td>
<td>{{ f.requests_before if f else "" }}</td><td>{{ f.flagged_after if f and f.flagged_after is not none else "" }}</td>
<td class="l">{{ f.final_level if f else "" }}</td></tr>{% endfor %}
</table>
{% if arm.summary.rotations or arm.summary.params_dropped %}<p>The attacker adapted: {{ arm.summary.rotations }} rotation(s) to fresh accounts
 ({{ arm.summary.accounts_used }} accounts used in all){% if arm.summary.params_dropped %}; parameters it stopped sending once refused:
 {{ arm.summary.params_dropped | join(", ") }}{% endif %}.</p>{% endif %}
{% endfor %}

<h2>The ordinary accounts' service</h2>
{% if ordinary_rows %}<p>Accounts of the simulator's benign kinds (chat users, applications, a benchmark run) sent their requests over
HTTP at the same time as the attacker, each from its own address and client, on the lab's clock ({{ config.clock }} simulated
seconds per real second). What the gateway did to them, from its own log:</p>
<img src="data:image/png;base64,{{ service }}" alt="the ordinary accounts' service">
<table><tr><th class="l">shields</th><th class="l">account</th><th class="l">kind</th><th>requests</th><th>served</th><th>refused</th><th>429</th>
<th>throttled</th><th>altered</th><th class="l">first flagged</th></tr>
{% for row in ordinary_rows %}<tr><td class="l">{{ row.arm }}</td><td class="l">{{ row.s.account }}</td><td class="l">{{ row.s.kind }}</td>
<td>{{ row.s.requests }}</td><td>{{ row.s.served }}</td><td>{{ row.s.refused }}</td><td>{{ row.s.rate_limited }}</td>
<td>{{ row.s.throttled }}</td><td>{{ row.s.altered }}</td>
<td class="l">{% if row.s.flag %}{{ row.s.flag.level }} at {{ row.s.flag.seconds }} s{% else %}<span class="muted">never</span>{% endif %}</td></tr>{% endfor %}
</table>
<p class="muted">refused: 403 from the policy (blocked, hardened); 429: refused by a rate limit; throttled: sent while the account's
limits were throttled; altered: answers the policy changed (length capped, reasoning stripped, a canary added, parameters dropped).</p>
{% else %}<p class="muted">No ordinary accounts in this campaign (<code>[ordinary]</code> is empty).</p>{% endif %}

<h2>The students</h2>
<p>Each student is the same small GPT ({{ config.student.layers }} layers, d_model {{ config.student.d_model }},
{{ "{:,}".format(parameters) }} parameters, the teacher's tokenizer) from the same initial weights (seed {{ config.student.seed }}),
trained for {{ config.train.steps }} steps of {{ config.train.batch_size }} answers. It is measured on the teacher's greedy
answers to {{ held_out }} held-out prompts: the mean negative log-likelihood (NLL) per answer token, and the share of answer
tokens it ranks first (agreement).</p>
<table><tr><th class="l">shields</th><th class="l">mode</th><th>answers</th><th>answer tokens</th><th>with top-k</th>
<th>NLL before</th><th>NLL after</th><th>gain</th><th>gain %</th><th>agreement before</th><th>agreement after</th><th>seconds</th></tr>
{% for s in students %}<tr><td class="l">{{ s.arm }}</td><td class="l">{{ s.mode }}</td><td>{{ s.examples }}</td><td>{{ s.answer_tokens }}</td>
<td>{{ s.soft_tokens }}</td><td>{{ fmt(s.before.nll) }}</td><td>{{ fmt(s.after.nll) }}</td><td><b>{{ fmt(s.gain) }}</b></td>
<td>{{ pct(s.gain / s.before.nll) }}</td><td>{{ pct(s.before.agreement) }}</td><td>{{ pct(s.after.agreement) }}</td><td>{{ "%.0f" | format(s.seconds) }}</td></tr>{% endfor %}
</table>
{% if summary.get("logprob_value") %}<p>What log-probabilities added to the gain (token-level minus sequence-level):
{% for arm, value in summary.logprob_value.items() %}shields {{ arm }}: <b>{{ fmt(value) }}</b> nats/token{% if not loop.last %}; {% endif %}{% endfor %}.</p>{% endif %}
<img src="data:image/png;base64,{{ gains }}" alt="gain by arm and mode"> <img src="data:image/png;base64,{{ losses }}" alt="training loss">

{% if pretrained %}<h2>The pretrained student</h2>
<p>{{ pretrained_base }} fine-tuned with LoRA (rank {{ config.pretrained.lora_rank }}) on up to {{ config.pretrained.examples or "all" }}
harvested answers, {{ config.pretrained.steps }} steps of {{ config.pretrained.batch_size }}, in its own tokenizer and chat format: what a
real distiller trains. Measured on the same held-out teacher answers, in its tokens: NLL per token and per answer. The
other teacher's student learned from the same prompts answered under a key we do not hold (the audit's null).</p>
<table><tr><th class="l">student</th><th>answers</th><th>answer tokens</th><th>NLL/token before</th><th>after</th><th>gain</th>
<th>NLL/answer before</th><th>after</th><th>gain</th><th>agreement before</th><th>after</th><th>seconds</th></tr>
{% for arm, s in pretrained.students.items() %}<tr><td class="l">{{ arm }}</td><td>{{ s.examples }}</td><td>{{ s.answer_tokens }}</td>
<td>{{ fmt(s.before.nll) }}</td><td>{{ fmt(s.after.nll) }}</td><td><b>{{ fmt(s.gain) }}</b></td>
<td>{{ "%.1f" | format(s.before.sequence_nll) }}</td><td>{{ "%.1f" | format(s.after.sequence_nll) }}</td><td><b>{{ "%.1f" | format(s.sequence_gain) }}</b></td>
<td>{{ pct(s.before.agreement) }}</td><td>{{ pct(s.after.agreement) }}</td><td>{{ "%.0f" | format(s.seconds) }}</td></tr>{% endfor %}
</table>
{% if pretrained.get("gain_kept") is not none %}<p>With the shields on, the attacker kept <b>{{ "%.2f" | format(pretrained.gain_kept) }}×</b>
of the shields-off gain per token{% if pretrained.get("sequence_gain_kept") is not none %} and {{ "%.2f" | format(pretrained.sequence_gain_kept) }}× per answer{% endif %}.</p>{% endif %}
{% for name, a in pretrained.get("audit", {}).items() %}<p>Audit of <code>{{ name }}</code> (closed mode, as a model behind an API):
<b>{{ a.outcome.replace('_', ' ') }}</b>, combined p = {{ '%.3g' % a.combined_p_value }};
accounts named: {{ a.attributed_accounts | map(attribute="account") | join(", ") or "none" }} (of {{ a.accounts_tested }});
negative controls (combined p): {% for n, p in a.negative_controls.items() %}{{ n }} {{ '%.3g' % p }}{% if not loop.last %}, {% endif %}{% endfor %}.
<a href="{{ a.report }}">{{ a.report }}</a></p>{% endfor %}
{% endif %}

{% if samples %}<h2>Held-out answers, side by side</h2>
<p class="muted">The {{ headline_label }} student's greedy answers next to the teacher's.</p>
<table><tr><th class="l">prompt</th><th class="l">teacher</th><th class="l">student</th></tr>
{% for s in samples %}<tr><td class="l"><pre>{{ s.prompt }}</pre></td><td class="l"><pre>{{ s.teacher }}</pre></td><td class="l"><pre>{{ s.student }}</pre></td></tr>{% endfor %}
</table>{% endif %}

<h2>Audit</h2>
{% if audits %}<p>Each arm's student audited as <code>distillshield audit</code> does: does it carry the watermark keys of the
accounts that harvested its training data? Keys tested: the arm's accounts and accounts that harvested nothing.</p>
<table><tr><th class="l">student</th><th class="l">outcome</th><th class="l">positive control</th><th>smallest share found</th><th>combined p-value</th>{% for t in audit_tests %}<th>{{ t }}</th>{% endfor %}<th class="l">accounts named</th><th class="l">report</th></tr>
{% for name, a in audits.items() %}{% set shares = (a.power or []) | selectattr("share") | map(attribute="share") | list %}<tr><td class="l">{{ name }}</td>
<td class="l">{{ (a.outcome or '').replace('_', ' ') }}</td>
<td class="l">{% if a.positive_control %}{{ 'passed' if a.positive_control.passed else 'failed' }} ({% if a.positive_control.p_value < 1e-300 %}p &lt; 1e-300{% else %}p = {{ '%.3g' % a.positive_control.p_value }}{% endif %}){% endif %}</td>
<td>{% if shares %}{{ '%.1f%%' % (100 * (shares | min)) }}{% else %}&mdash;{% endif %}</td>
<td>{{ '%.3g' % a.combined_p_value }}</td>
{% for t in audit_tests %}<td>{% for x in a.tests if x.name == t %}{{ '%.3g' % x.p_value }} ({{ x.tokens_scored }}){% endfor %}</td>{% endfor %}
<td class="l">{{ a.attributed_accounts | map(attribute="account") | join(", ") or "none" }} (of {{ a.accounts_tested }})</td>
<td class="l"><a href="{{ a.report }}">{{ a.report }}</a></td></tr>{% endfor %}</table>
<p class="muted">Cells: p-value (distinct pairs scored). The pooled tests sum the evidence over all the arm's accounts' keys.
The positive control scores the served answers with their own accounts' keys (did they carry the mark?); the
smallest share is that of a student's choices which, marked as strongly as the served answers, the most sensitive
test would find with probability 0.9.</p>
{% else %}<p class="muted">No audit: <code>audit_prompts = 0</code>.</p>{% endif %}

<h2>Files</h2>
<p class="muted">Everything is in <code>{{ folder }}</code>: <code>manifest.json</code> (configuration, seeds, versions, sha256 of every
file), <code>summary.json</code>, per arm <code>harvest.jsonl</code> (what the attacker received, as exchange records),
<code>gateway.jsonl</code> (the gateway's own log), <code>policy_events.jsonl</code>, <code>risk.json</code>, <code>accounts.json</code>,
and <code>students/&lt;arm&gt;-&lt;mode&gt;/</code> (weights and config, loadable with <code>distillshield.lab.student.load_student</code>).</p>
</body></html>
"""


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.3f}"


def _pct(value) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _base_name(config) -> str:
    return Path(config.pretrained.model).name if config.pretrained.model else "Gemma 3 270M"


def render_report(result) -> str:
    from distillshield.lab.student import Student

    summary = result.summary
    arms = [{"name": name, "summary": summary["arms"][name], "flags": arm.flags,
             "outcomes": list(arm.harvest.outcomes.values())} for name, arm in result.arms.items()]
    ordinary_rows = [{"arm": name, "s": entry} for name, arm in result.arms.items() for entry in arm.ordinary.values()]
    headline = next((s for s in result.students if s.arm == summary["headline"]["arm"]
                     and s.mode == summary["headline"]["mode"]), result.students[0] if result.students else None)
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = environment.from_string(_TEMPLATE)
    return template.render(
        name=result.folder.name, folder=str(result.folder), created=result.manifest.get("created", ""),
        manifest_teacher=f"{result.manifest.get('teacher', {}).get('model', 'the built-in model')} "
                         f"(watermark {result.manifest.get('teacher', {}).get('watermark', '?')})",
        config=result.config, seconds=result.seconds, summary=summary, arms=arms, students=result.students,
        parameters=Student(result.config.student).parameter_count(), held_out=len(result.reference),
        samples=headline.samples if headline else [],
        headline_label=f"shields-{headline.arm} {headline.mode}-level" if headline else "",
        timeline=timeline_plot(result), losses=loss_plot(result), gains=gain_plot(result),
        ordinary_rows=ordinary_rows, service=service_plot(result) if ordinary_rows else "",
        audits=result.audits, pretrained=summary.get("pretrained") or {},
        pretrained_base=_base_name(result.config),
        audit_tests=sorted({t["name"] for a in result.audits.values() for t in a["tests"]}),
        fmt=_fmt, pct=_pct)


def write_report(result, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(render_report(result), encoding="utf-8")
    return path
