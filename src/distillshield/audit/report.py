"""The evidence report: ``verdict.json`` (the machine-readable verdict) and ``report.html`` (the same, for
a person: the question, the method, the data's hashes, each test's p-value and null, plots of the evidence
against tokens scored, and what a third party needs to repeat it), and ``report.pdf``, the page printed by
WeasyPrint. Plots are PNG (matplotlib) embedded in the page, so the report is one file that reads offline.
"""

from __future__ import annotations

import base64
import io
import math
from pathlib import Path

import jinja2
import orjson

from distillshield.audit.run import Verdict


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def png(figure) -> str:
    """A figure as base64 PNG for an ``<img src="data:...">``; the figure is closed."""
    plt = pyplot()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def evidence_plot(name: str, curve: dict, alpha: float) -> str:
    """-log10 p against tokens scored: the named account's key, and the next accounts' keys for contrast."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(6.4, 3.6))
    for other in curve["others"]:
        if other:
            axis.plot(*zip(*other), color="#b0b0b0", linewidth=1)
    if curve["others"]:
        axis.plot([], [], color="#b0b0b0", label="the next most likely accounts' keys")
    if curve["best"]:
        axis.plot(*zip(*curve["best"]), color="#c0392b", linewidth=2, label=f"key of {curve['account']}")
    axis.axhline(-math.log10(alpha), color="k", linestyle="--", linewidth=1, label=f"p = {alpha:g}")
    axis.set_xlabel("distinct (context, token) pairs scored")
    axis.set_ylabel("-log10 p (unadjusted)")
    axis.set_title(name)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return png(figure)


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>DistillShield audit: {{ v.suspect.get('path') or v.suspect.get('model') or 'suspect' }}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; max-width: 960px; margin: 2em auto; padding: 0 1em; color: #222 }
table { border-collapse: collapse; margin: 0.6em 0 } td, th { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left }
code { background: #f4f4f4; padding: 0 3px } .muted { color: #666 } .verdict { font-size: 1.15em; padding: 0.6em 1em; border-left: 5px solid {{ colour }}; background: #fafafa }
</style></head><body>
<h1>Audit of a suspect model</h1>
<p class="verdict"><b>Outcome: {{ (v.outcome or '').replace('_', ' ') }}.</b> {{ v.conclusion }}</p>

<h2>Controls and power</h2>
{% set c = v.positive_control %}
<p><b>Positive control ({{ 'passed' if c.passed else 'FAILED' }}).</b> Before any test of the suspect, the served
answers themselves are scored with their own accounts' keys under the scheme tested: our model marked them as
it served them, so they must carry the mark, or no test of the suspect could find it.
{% if c.passed %}They do: p {{ c.p_value | p }} over {{ c.pairs }} distinct pairs of {{ c.answers }} answers
({{ c.accounts }} accounts); their mean pair value is {{ '%.3f' % c.mark_strength }} against {{ '%.3f' % c.null_mean }}
for unmarked text.{% else %}They do not (p {{ c.p_value | p }} over {{ c.pairs }} pairs of {{ c.answers }} answers).
{{ c.cause }}{% endif %}</p>
<table><tr><td>scheme tested</td><td><code>{{ c.scheme }}</code>: {{ c.scheme_source }}</td></tr>
<tr><td>what the records logged</td><td>{{ c.logged.logged }} of {{ c.logged.answers }} answers carry a watermark record{% if c.logged.schemes %}: <code>{{ c.logged.schemes | tojson }}</code>, master key <code>{{ c.logged.key_ids | tojson }}</code>{% endif %}</td></tr>
{% if c.key_version is not none %}<tr><td>key version that marks them</td><td>{{ c.key_version }} (0: the newest)</td></tr>{% endif %}
{% if c.marked_under %}<tr><td>marked under</td><td><code>{{ c.marked_under | join(', ') }}</code></td></tr>{% endif %}
</table>
{% if v.power %}<p><b>Power.</b> The smallest share of a suspect's choices that must carry our mark (as strongly
as the served answers carry it) for each test to find it with probability {{ v.power[0].target }} at the raw level
it needs (the verdict's level over the tests combined and, for one key's test, the keys tested).</p>
<table><tr><th>test</th><th>pairs</th><th>level</th><th>smallest share found</th><th>mean pair value at that share</th></tr>
{% for p in v.power %}<tr><td>{{ p.test }}</td><td>{{ p.pairs }}</td><td>{{ '%.2g' % p.level }}</td>
<td>{% if p.share is not none %}{{ '%.1f%%' % (100 * p.share) }}{% else %}none (undetectable){% endif %}</td>
<td>{% if p.mean_value is not none %}{{ '%.3f' % p.mean_value }}{% endif %}</td></tr>
{% endfor %}</table>{% endif %}
{% if v.negative_controls %}<p><b>Negative controls.</b> Models never trained on our answers, audited on the same
data with the same keys: their p-values should be unremarkable.</p>
<table><tr><th>model</th><th>combined p</th>{% for t in v.tests %}<th>{{ t.name }}</th>{% endfor %}</tr>
<tr><td><b>the suspect</b></td><td>{{ '%.3g' % v.combined_p_value }}</td>{% for t in v.tests %}<td>{{ '%.3g' % t.p_value }}</td>{% endfor %}</tr>
{% for n in v.negative_controls %}<tr><td>{{ n.name }}</td><td>{{ '%.3g' % n.combined_p_value }}</td>{% for t in v.tests %}<td>{% if t.name in n.tests %}{{ '%.3g' % n.tests[t.name] }}{% else %}&mdash;{% endif %}</td>{% endfor %}</tr>
{% endfor %}</table>{% endif %}
{% if v.outcome == 'inconclusive' %}<ul>{% for r in v.outcome_reasons if not r.startswith('Positive control') %}<li>{{ r }}</li>{% endfor %}</ul>{% endif %}

<h2>The question</h2>
<p>{{ v.question }} Each test below is a hypothesis test: its p-value is the probability, if the stated null
hypothesis holds, of evidence at least this strong. The verdict's level is {{ v.alpha }}.</p>

<h2>Tests</h2>
{% if not v.positive_control.passed %}<p class="verdict">The positive control failed: these tests could not have
found the mark, and are shown for the record only. They are no evidence either way.</p>{% endif %}
<table><tr><th>test</th><th>p-value</th><th>tokens scored</th><th>null hypothesis</th></tr>
{% for t in v.tests %}<tr><td>{{ t.name }}</td><td>{{ '%.3g' % t.p_value }}</td><td>{{ t.tokens_scored }}</td><td>{{ t.null }}</td></tr>
{% endfor %}<tr><th>combined</th><th>{{ '%.3g' % v.combined_p_value }}</th><td></td><td>{{ v.combination }}</td></tr></table>

{% for t in v.tests %}<h3>{{ t.name }}</h3>
<p><b>Method.</b> {{ t.method }}.{% if t.data %} <b>Data.</b> {{ t.data }}; {{ t.choices_seen }} choices seen, {{ t.tokens_scored }} scored.{% endif %}</p>
{% if t.attribution %}<table><tr><th>account</th><th>p-value (Holm-adjusted)</th><th>raw p-value</th><th>score (null sd)</th></tr>
{% for row in t.attribution %}<tr><td>{{ row.account }}</td><td>{{ '%.3g' % row.p_value }}</td><td>{{ '%.3g' % row.raw_p_value }}</td><td>{{ row.score }}</td></tr>
{% endfor %}</table>{% endif %}
{% if plots.get(t.name) %}<img alt="evidence against tokens scored" src="data:image/png;base64,{{ plots[t.name] }}">{% endif %}
{% if t.references %}<table><tr><th>reference model</th><th>p-value</th><th>its mean agreement</th></tr>
{% for name, r in t.references.items() %}<tr><td>{{ name }}</td><td>{{ '%.3g' % r.p_value }}</td><td>{{ r.mean_reference_agreement }}</td></tr>
{% endfor %}</table><p class="muted">The suspect's mean agreement: {{ t.mean_suspect_agreement }} over {{ t.prompts }} prompts.</p>{% endif %}
{% endfor %}

<h2>Attributed accounts</h2>
{% if v.attributed_accounts %}<table><tr><th>account</th><th>adjusted p-value</th><th>test</th></tr>
{% for row in v.attributed_accounts %}<tr><td>{{ row.account }}</td><td>{{ '%.3g' % row.p_value }}</td><td>{{ row.test }}</td></tr>
{% endfor %}</table>{% else %}<p>None at the {{ v.alpha }} level ({{ v.accounts_tested }} account keys tested).</p>{% endif %}

<h2>How the p-values are calibrated</h2>
<p>Every watermark key assigns each (context, token) pair a secret value, uniform and independent across
distinct pairs for anyone without the key. A model that never saw text marked with the key makes its choices
independently of these values, so the sum over the distinct pairs it chose has a known distribution
(binomial for <code>kgw</code> and <code>tournament</code>, gamma for <code>expmin</code>) and the p-value is its exact tail,
not a normal approximation. Pairs present in the suspect's own input are left out (a model may copy them),
and each pair counts once. Attribution tests {{ v.accounts_tested }} account keys and adjusts by Holm's method.
An account's canary is one of 70<sup>9</sup> equally likely phrases of nine syllables chosen by its key; the
canary test finds the longest run of its syllables, in order, in the suspect's answers. With N<sub>k</sub> distinct
runs of k syllables written, a model that never saw the canary writes k of its syllables in a row with probability
at most N<sub>k</sub> (10 &minus; k) / 70<sup>k</sup> (for the whole phrase, about D / 70<sup>9</sup> with D
the canary-shaped phrases written). Where the suspect's weights can be read, the open canary test ranks each word of
a canary we served among 69 random words of the same shape by the suspect's likelihood of the note; a model that
never saw the canary ranks its words uniformly, and the p-value is the exact chance of a product of ranks this small.
DistillShield's test suite and <code>bench/audit_eval.py</code> check these p-values for uniformity on models
never trained on our outputs.</p>

<h2>Data and keys</h2>
<table>
<tr><td>suspect</td><td><code>{{ v.suspect | tojson }}</code></td></tr>
<tr><td>served answers</td><td><code>{{ v.data | tojson }}</code></td></tr>
<tr><td>scheme</td><td><code>{{ v.scheme }}</code></td></tr>
<tr><td>key</td><td><code>{{ v.key | tojson }}</code></td></tr>
<tr><td>settings</td><td><code>{{ v.config | tojson }}</code></td></tr>
</table>

<h2>To repeat this audit</h2>
<p>A third party needs: the suspect (the hashes above), the served answers (the file whose sha256 is above),
the master key (revealed for the audit; its commitment, published earlier, shows it predates the suspect:
<code>sha256("distillshield-watermark-commitment\\0" + key + timestamp)</code>), and the account ids. Then:
<code>distillshield audit --suspect MODEL --data SERVED --key-file KEY --accounts ACCOUNTS --seed {{ v.config.seed }}</code>.
Every statistic is a sum over the pairs; the pairs and each key's values can be recomputed with
<code>distillshield.audit.radioactivity</code>. Sampling of the closed mode is seeded ({{ v.config.sampling | tojson }}).</p>
<p class="muted">Created {{ v.created }} in {{ v.seconds }} s.</p>
</body></html>
"""


def render(verdict: dict) -> str:
    """The HTML report of a verdict in ``verdict.json``'s form (``Verdict.to_dict()``, with its curves)."""
    plots = {name: evidence_plot(name, curve, verdict["alpha"]) for name, curve in verdict.get("curves", {}).items()}
    colour = {"evidence": "#c0392b", "no_evidence": "#27ae60"}.get(verdict.get("outcome"), "#e67e22")
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined)
    environment.filters["p"] = lambda value: "< 1e-300" if value < 1e-300 else f"= {value:.3g}"
    return environment.from_string(_TEMPLATE).render(v=verdict, plots=plots, colour=colour)


def write_report(verdict: Verdict, folder: str | Path) -> tuple[Path, Path]:
    """``verdict.json`` (without the plot curves), ``report.html`` and its print, ``report.pdf``, in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    verdict_path = folder / "verdict.json"
    verdict_path.write_bytes(orjson.dumps(verdict.to_json(), option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    report_path = folder / "report.html"
    report_path.write_text(render(verdict.to_dict()), encoding="utf-8")
    write_pdf(report_path, folder / "report.pdf")
    return verdict_path, report_path


def write_pdf(html_path: Path, pdf_path: Path) -> None:
    """The HTML report printed to PDF by WeasyPrint (it needs the system's Pango library)."""
    import logging
    import warnings

    # its notices about optional font libraries say nothing about the report
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import weasyprint

        weasyprint.HTML(filename=str(html_path)).write_pdf(str(pdf_path))
