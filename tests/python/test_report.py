"""`shardstream report`: one self-contained HTML page, rendered by a real browser (headless
Chromium, in a network namespace of its own so nothing can leave even if the page tried),
checked for script errors, blocked requests, requests in Chromium's own net log, and the
numbers `stats --json` gives. The screenshot goes to $SHARDSTREAM_REPORT_SCREENSHOT when set
(docs/report.md shows one)."""
import json
import os
import re
import shutil
import struct
import subprocess

import pytest

from conftest import DATA, GPT2, run
from planted_corpus import make_documents, write_corpus

CHROMIUM = shutil.which("chromium")
# Chromium's own background services (component updates, spelling dictionaries) are off, so
# the net log holds only what the page asked for.
QUIET = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-domain-reliability",
         "--disable-features=SpellcheckService,OptimizationHints,MediaRouter,Translate"]


def chromium(url, tmp_path, *args):
    """Runs Chromium with no network at all (`unshare -n`: a namespace with only a down
    loopback); returns (stdout, the page's own requests from the net log)."""
    assert CHROMIUM, "chromium is not installed (deploy/install_deps.sh installs it)"
    net_log = tmp_path / f"net-{len(list(tmp_path.iterdir()))}.json"
    proc = subprocess.run(["unshare", "-n", CHROMIUM, *QUIET, f"--log-net-log={net_log}", *args,
                           url], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    log = json.loads(net_log.read_text())
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    # Requests a page starts have its (opaque, file://) origin as initiator; the browser's
    # own say "not an origin".
    requested = [e["params"]["url"] for e in log["events"]
                 if names[e["type"]] == "URL_REQUEST_START_JOB"
                 and e.get("params", {}).get("initiator") not in (None, "not an origin")]
    return proc.stdout, requested


@pytest.fixture(scope="module")
def report(tmp_path_factory, shardstream_bin):
    root = tmp_path_factory.mktemp("report")
    # Two sources: the CodeParrot-format sample (real Python files, with exact and near
    # duplicates, bad lines, several licences) and a planted corpus.
    write_corpus(str(root / "planted"), make_documents(seed=3, bases=10, distinct=40), files=2)
    db = str(root / "catalog")
    run(shardstream_bin, "index", "--db", db, "--corpus", os.path.join(DATA, "corpus-sample"),
        "--source", "sample")
    run(shardstream_bin, "index", "--db", db, "--corpus", str(root / "planted"), "--source",
        "planted")
    run(shardstream_bin, "tokenize", "--db", db, "--tokenizer", GPT2, "--jobs", "2")
    run(shardstream_bin, "dedup", "--db", db, "--jobs", "2")
    out = root / "report.html"
    printed = run(shardstream_bin, "report", "--db", db, "--out", str(out)).stdout
    assert printed.startswith(f"wrote {out}")
    stats = json.loads(run(shardstream_bin, "stats", "--db", db, "--json").stdout)
    return {"html": out.read_text(), "path": out, "stats": stats, "db": db, "root": root}


def commas(n):
    return f"{n:,}"


def test_page_is_self_contained(report):
    html = report["html"]
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    # No attribute or stylesheet that names anything outside the page.
    assert not re.search(r"<(link|iframe|object|embed|img)\b", html, re.I)
    assert not re.search(r"<script[^>]+src=", html, re.I)
    refs = re.findall(r"(?:href|src)\s*=\s*\"([^\"]*)\"", html)
    assert refs and all(r.startswith("#") for r in refs), refs
    assert "url(" not in html.split("</style>")[0]
    assert "@import" not in html and "@font-face" not in html


def test_page_renders_in_chromium_with_the_catalogs_numbers(report, tmp_path):
    stats = report["stats"]
    url = report["path"].as_uri()
    dom, requested = chromium(url, tmp_path, "--dump-dom")
    assert requested == []
    body = re.search(r"<body([^>]*)>", dom).group(1)
    assert 'data-script-errors="0"' in body
    assert 'data-blocked-requests="0"' in body
    assert 'data-ready="1"' in body, "the inline script ran to its end"
    assert f'id="docs-count">{commas(stats["docs"])}<' in dom
    assert f'id="unique-count">{commas(stats["unique_docs"])}<' in dom
    assert f'id="exact-duplicates">{commas(stats["duplicate_docs"])}<' in dom
    assert stats["near_duplicate_docs"] > 0
    assert f'id="near-duplicates">{commas(stats["near_duplicate_docs"])}<' in dom
    # Every section, per source numbers (two sources), the tokenizer's fit, side-by-side pairs.
    for section in ("sizes", "cleaning", "licenses", "duplicates", "sources", "tokenizers",
                    "files"):
        assert f'id="{section}"' in dom
    assert re.search(r"<td>gpt2</td>", dom)
    assert dom.count('class="pair"') >= 1
    assert "estimated" in dom and "exact" in dom
    for name, source in stats["sources"].items():
        assert f"<td>{name}</td>" in dom and commas(source["docs"]) in dom

    screenshot = tmp_path / "report.png"
    chromium(url, tmp_path, f"--screenshot={screenshot}", "--window-size=1280,2000")
    png = screenshot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1280, 2000)
    assert len(png) > 50_000, "a page with charts, not a blank one"
    if os.environ.get("SHARDSTREAM_REPORT_SCREENSHOT"):
        shutil.copy(screenshot, os.environ["SHARDSTREAM_REPORT_SCREENSHOT"])


def test_the_request_check_sees_a_page_that_loads_something(report, tmp_path):
    # The same page with its policy removed and an image added: the net log must show it,
    # or the check above proves nothing.
    html = re.sub(r"<meta http-equiv=\"Content-Security-Policy\"[^>]*>", "", report["html"])
    bad = tmp_path / "bad.html"
    bad.write_text(html.replace("</main>", '<img src="http://192.0.2.1/x.png"></main>'))
    _, requested = chromium(bad.as_uri(), tmp_path, "--dump-dom")
    assert requested == ["http://192.0.2.1/x.png"]
    # With the policy kept, the page counts the blocked attempt.
    blocked = tmp_path / "blocked.html"
    blocked.write_text(report["html"].replace("</main>", '<img src="http://192.0.2.1/x.png"></main>'))
    dom, requested = chromium(blocked.as_uri(), tmp_path, "--dump-dom")
    assert requested == []
    assert 'data-blocked-requests="1"' in dom


def test_report_before_dedup_and_tokenize_says_what_to_run(tmp_path, shardstream_bin):
    write_corpus(str(tmp_path / "c"), make_documents(seed=2, bases=2, distinct=3), files=1)
    db = str(tmp_path / "db")
    run(shardstream_bin, "index", "--db", db, "--corpus", str(tmp_path / "c"))
    out = tmp_path / "r.html"
    run(shardstream_bin, "report", "--db", db, "--out", str(out))
    html = out.read_text()
    assert "run <code>shardstream dedup" in html
    assert "run <code>shardstream tokenize" in html
    proc = run(shardstream_bin, "report", "--db", str(tmp_path / "none"), "--out", str(out),
               check=False)
    assert proc.returncode == 1 and "no catalog" in proc.stderr
