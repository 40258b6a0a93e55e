"""The console in a real browser (Playwright driving Debian's chromium): an operator's day, refusals, access.

The main test replays a campaign against a gateway with live detection, signs in, finds an account the
detector flagged, reads its reasons, blocks it with a reason, sees the event, and sees the gateway refuse
its next request. Every page is checked for accessibility basics (labels, names, contrast, keyboard focus;
our own checks, plus axe-core when `.ci/run` has installed it) and photographed for docs/console.md.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import httpx
import numpy as np
import orjson
import pytest

from distillshield.detect import DetectorModel, DistillationScorer

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (.ci/run installs it)", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
# CONSOLE_SCREENSHOTS=1 writes the screenshots docs/console.md shows; otherwise they go to a temporary folder
SHOTS = ROOT / "docs" / "console" if os.environ.get("CONSOLE_SCREENSHOTS") == "1" else \
    Path(tempfile.gettempdir()) / "distillshield-console-shots"
AXE = Path(__file__).parent / ".axe" / "node_modules" / "axe-core" / "axe.min.js"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TEMPLATE = "Grade this answer from 1 to 10 and explain the grade step by step: {}"
TOPICS = ["photosynthesis", "the French revolution", "binary search", "plate tectonics", "inflation",
          "the immune system", "sorting networks", "tides"]


def harvest_model() -> DetectorModel:
    """A hand-set scorer: the log-odds rise with the share of requests asking for log-probabilities or n > 1."""
    scorer = DistillationScorer.from_weights({"logprob_share": 10.0, "multi_sample_share": 10.0}, intercept=-5.0)
    return DetectorModel(scorer, benign_max_scores=np.linspace(-4.8, -4.0, 200), trained_on={"test": True})


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=ARGS, headless=True, viewport={"width": 1280, "height": 900},
            bypass_csp=True)                      # lets the test inject axe-core; the console itself sends a CSP
        context.set_default_timeout(15_000)
        yield context
        context.close()


@pytest.fixture
def page(browser):
    browser.clear_cookies()
    tab = browser.new_page()
    tab.on("dialog", lambda dialog: dialog.accept())
    yield tab
    tab.close()


# accessibility ---------------------------------------------------------------------------------------
_OWN_CHECKS = """() => {
  const problems = [];
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  if (!document.documentElement.lang) problems.push("html has no lang");
  if (!document.title.trim()) problems.push("page has no title");
  if (!document.querySelector("main")) problems.push("no main landmark");
  if (document.querySelectorAll("h1").length !== 1) problems.push("not exactly one h1");
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    const labelled = (el.id && document.querySelector(`label[for="${el.id}"]`)) || el.closest("label")
      || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
    if (!labelled) problems.push(`control without a label: ${el.outerHTML.slice(0, 80)}`);
  }
  for (const el of document.querySelectorAll("a, button")) {
    if (visible(el) && !(el.textContent.trim() || el.getAttribute("aria-label") || el.querySelector("title")))
      problems.push(`link or button without a name: ${el.outerHTML.slice(0, 80)}`);
  }
  for (const svg of document.querySelectorAll("svg")) {
    if (!(svg.getAttribute("aria-label") && svg.getAttribute("role") === "img")) problems.push("svg without role/label");
  }
  const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const luminance = (rgb) => 0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2]);
  const parse = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const background = (el) => {
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  for (const el of document.querySelectorAll("body *:not(svg):not(svg *)")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !visible(el)) continue;
    const style = getComputedStyle(el);
    const fg = parse(style.color).slice(0, 3);
    const [l1, l2] = [luminance(fg), luminance(background(el))].sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const large = parseFloat(style.fontSize) >= 24 || (parseFloat(style.fontSize) >= 18.66 && style.fontWeight >= 700);
    if (ratio < (large ? 3 : 4.5)) problems.push(`contrast ${ratio.toFixed(2)} for "${el.textContent.trim().slice(0, 30)}"`);
  }
  return problems;
}"""


def check_accessibility(page) -> None:
    problems = page.evaluate(_OWN_CHECKS)
    assert problems == [], problems
    if AXE.exists():
        page.add_script_tag(content=AXE.read_text())
        result = page.evaluate("""async () => {
            const r = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}});
            return r.violations.map(v => `${v.id}: ${v.nodes.length} (${v.nodes[0].target})`);
        }""")
        assert result == [], result


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def visit(page, url: str, shot: str | None = None) -> None:
    page.goto(url)
    check_accessibility(page)
    if shot:
        shoot(page, shot)


# the flow ------------------------------------------------------------------------------------------------
def new_account(gateway, account_id: str) -> str:
    admin = gateway.headers(gateway.admin_key)
    account = {"id": account_id, "rpm": 0, "tpm": 0, "concurrency": 0, "tpd": 0}
    assert httpx.post(gateway.url + "/admin/accounts", json=account, headers=admin).status_code == 201
    return httpx.post(gateway.url + "/admin/keys", json={"account": account_id}, headers=admin).json()["key"]


def chat(gateway, key: str, text: str, agent: str, **extra) -> httpx.Response:
    return httpx.post(gateway.api_url + "/chat/completions", timeout=30,
                      headers={**gateway.headers(key), "User-Agent": agent},
                      json={"model": "fast", "messages": [{"role": "user", "content": text}], **extra})


def replay_campaign(gateway) -> list[tuple[str, str]]:
    """Three accounts of one campaign (one template, one client, log-probabilities asked) and an ordinary user."""
    campaign = [(name, new_account(gateway, name)) for name in ("camp-ana", "camp-bo", "camp-cy")]
    for round_ in range(6):
        for index, (_name, key) in enumerate(campaign):
            topic = TOPICS[(round_ + index) % len(TOPICS)]
            answer = chat(gateway, key, TEMPLATE.format(topic), "harvester/1.0", logprobs=True, top_logprobs=5)
            # served, or (once the detector has hardened the account, which may come before its last round)
            # refused for asking log-probabilities
            assert answer.status_code == 200 or answer.json()["error"]["code"] == "hardened_by_policy"
        assert chat(gateway, gateway.user_key, f"What is {TOPICS[round_]}?", "office-app/2.3").status_code == 200
    assert gateway.gateway.log_writer.wait_written()
    assert gateway.gateway.detector.wait_idle()
    return campaign


def sign_in(page, gateway, key: str | None = None) -> None:
    page.goto(gateway.url + "/console/")
    assert "/console/login" in page.url
    page.get_by_label("Admin key").fill(key or gateway.admin_key)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.slow
def test_an_operator_finds_a_flagged_campaign_account_and_blocks_it(start_gateway, page, tmp_path):
    reports = write_reports(tmp_path / "reports")
    # the detector re-links campaign accounts every 2000 exchanges; this small campaign needs it every 6
    gateway = start_gateway(detector_model=harvest_model(), policy_flag_fpr=0.01, policy_throttle_fpr=0.001,
                            policy_harden_fpr=0.001, console_reports=str(reports), detect_link_every=6)
    campaign = replay_campaign(gateway)
    keys = dict(campaign)

    page.goto(gateway.url + "/console/")
    check_accessibility(page)
    shoot(page, "sign-in")
    sign_in(page, gateway)
    assert page.url.endswith("/console/")
    check_accessibility(page)
    assert page.get_by_role("heading", name="The detector's health").is_visible()
    assert "200 benign reference accounts" in page.content()
    shoot(page, "overview")

    page.get_by_role("link", name="Accounts", exact=True).click()
    page.get_by_label("Sort by").select_option("risk")
    page.get_by_role("button", name="Show").click()
    check_accessibility(page)
    shoot(page, "accounts")
    first = page.locator("table.accounts tbody tr").first
    flagged = first.locator("td").first.inner_text().strip()
    assert flagged in keys and first.locator(".level").inner_text() in ("harden", "throttle", "flag")

    first.get_by_role("link", name=flagged).click()
    check_accessibility(page)
    reasons = page.locator("section", has=page.get_by_role("heading", name="Why this score"))
    assert "logprob_share" in reasons.inner_text()
    assert "Grade this answer" in reasons.inner_text()            # sample prompts a person can check
    linked = page.locator("section", has=page.get_by_role("heading", name="Linked accounts")).inner_text()
    assert all(name in linked for name in keys if name != flagged)
    shoot(page, "account")

    page.get_by_label("Policy").select_option("block")
    page.get_by_label("Reason (recorded with your key id)").fill("campaign harvesting graded answers")
    page.get_by_role("button", name="Apply").click()
    assert "/console/accounts/" + flagged in page.url
    timeline = page.locator("section", has=page.get_by_role("heading", name="Timeline")).inner_text()
    assert "campaign harvesting graded answers" in timeline and "block" in timeline

    refused = chat(gateway, keys[flagged], TEMPLATE.format("tides"), "harvester/1.0")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "blocked_by_policy"

    page.get_by_role("link", name="Events and alerts").click()
    check_accessibility(page)
    row = page.locator("tbody tr", has_text="campaign harvesting graded answers").first
    assert flagged in row.inner_text() and gateway.admin_key.split("-")[1] in row.inner_text()
    shoot(page, "events")

    page.get_by_role("link", name="Campaigns").click()
    check_accessibility(page)
    campaign_row = page.locator("tbody tr").first.inner_text()
    assert "shared client, network" in campaign_row and "block: 1" in campaign_row
    shoot(page, "campaigns")
    page.locator("tbody tr a").first.click()
    check_accessibility(page)
    assert page.locator("svg.chart circle").count() == len(keys)
    assert "harvester/1.0" in page.content()                     # what links them: one client, one address
    shoot(page, "campaign")

    visit(page, gateway.url + "/console/reports", "reports")
    assert "verified" in page.content() and "camp-ana" in page.content() and "harvested 960" in page.content()
    page.locator("tbody tr", has_text="harvested 960").get_by_role("link", name="report.html").click()
    assert page.get_by_role("heading", name="Lab run").is_visible()

    assert_keyboard_reaches_the_controls(page, gateway.url + f"/console/accounts/{flagged}")


def assert_keyboard_reaches_the_controls(page, url: str) -> None:
    """Tab from the top: the skip link first, then every control of the account page in order."""
    page.goto(url)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    reached = []
    for _ in range(60):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
    assert "policy" in reached and "reason" in reached and "Apply" in reached
    assert reached.index("policy") < reached.index("reason") < reached.index("Apply")
    focus = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert focus != "none"                                       # the focused control shows it


def test_sign_in_is_refused_without_a_valid_admin_key(start_gateway, page):
    gateway = start_gateway()
    for key in (gateway.user_key, "ds-000000000000-wrong", ""):
        page.goto(gateway.url + "/console/login")
        page.get_by_label("Admin key").fill(key)
        if key:
            page.get_by_role("button", name="Sign in").click()
            assert page.get_by_role("alert").inner_text().startswith("Sign-in refused")
        else:                                                    # the browser itself refuses an empty key
            page.get_by_role("button", name="Sign in").click()
            assert "/console/login" in page.url
    page.goto(gateway.url + "/console/accounts")
    assert "/console/login" in page.url                          # still no page without a session
    assert page.context.cookies() == []


def test_a_change_without_the_csrf_token_is_refused(start_gateway, page):
    gateway = start_gateway()
    sign_in(page, gateway)
    status = page.evaluate("""async () => {
        const body = new URLSearchParams({policy: "block", reason: "forged"});
        const answer = await fetch("/console/accounts/default/policy", {method: "POST", body});
        return answer.status;
    }""")
    assert status == 403
    assert gateway.store.get_account("default").policy == "auto"
    cookie = page.context.cookies()[0]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""                # the session is out of scripts' reach


def write_reports(folder: Path) -> Path:
    """An audit's output folder as `distillshield audit` writes it (verdict.json and report.html)."""
    audit = folder / "audit-suspect-7b"
    audit.mkdir(parents=True)
    verdict = {"conclusion": "The suspect model was trained on answers we served (p = 2.1e-12).",
               "combined_p_value": 2.1e-12, "alpha": 0.001,
               "attributed_accounts": [{"account": "camp-ana", "p_value": 3e-13, "test": "radioactivity-closed"}],
               "key": {"key_id": "8c1f0e2a", "versions": 1,
                       "commitment": {"key_id": "8c1f0e2a", "ts": "2026-11-01T00:00:00.000Z",
                                      "commitment": "5f0c1d9e2b7a", "verified": True}}}
    (audit / "verdict.json").write_bytes(orjson.dumps(verdict))
    (audit / "report.html").write_text("<html><body><h1>Evidence report</h1></body></html>")
    run = folder / "lab-run-1"
    run.mkdir()
    (run / "summary.json").write_bytes(orjson.dumps({"harvested": 960, "flagged_accounts": 3, "first_flagged_after": 5,
                                                     "student_gain": 0.41}))
    (run / "report.html").write_text("<html><body><h1>Lab run</h1></body></html>")
    return folder
