"""End-to-end tests of `shardstream index` / `stats` / `dump` on real files.

Every expected number comes from reference_reader.py (Python's gzip/json), never from
shardstream itself.
"""
import gzip
import json
import os
import random
import shutil
import subprocess
import time

from conftest import run
from interrupted_runs import crash_through
from reference_reader import expected_stats, read_file

INTEGER_KEYS = ["files", "docs", "unique_docs", "duplicate_docs", "duplicate_bytes", "bad_lines",
                "damaged_files", "text_bytes", "distinct_repos"]


def stats_json(bin_path, db):
    return json.loads(run(bin_path, "stats", "--db", db, "--json").stdout)


def assert_stats_match(got, want):
    for key in INTEGER_KEYS:
        assert got[key] == want[key], key
    assert got["bad_lines_by_kind"] == want["bad_lines_by_kind"]
    assert got["licenses"] == want["licenses"]
    assert got["top_repos"] == want["top_repos"]
    assert got["cleaning"]["rules"] == want["rules"]
    assert got["cleaning"]["codeparrot_clean_docs"] == want["codeparrot_clean_docs"]


def test_machine_corpus_stats_agree_with_an_independent_reader(shardstream_bin, machine_corpus,
                                                               tmp_path):
    db = str(tmp_path / "db")
    run(shardstream_bin, "index", "--db", db, "--corpus", machine_corpus, "--jobs", "2")
    got = stats_json(shardstream_bin, db)
    want, files = expected_stats(machine_corpus)
    assert want["docs"] > 500 and want["duplicate_docs"] > 0  # a meaningful corpus
    assert_stats_match(got, want)
    # The document-size histogram, bucket by bucket.
    sizes = [len(d["text"].encode()) for f in files for d in f["docs"]]
    for bucket in got["histograms"]["doc_bytes"]:
        hi = bucket["max"] if bucket["max"] is not None else float("inf")
        assert bucket["docs"] == sum(bucket["min"] <= s <= hi for s in sizes), bucket
    # The table form tells the same story.
    table = run(shardstream_bin, "stats", "--db", db).stdout
    assert f"documents         {want['docs']}," in table


def test_jobs_and_reruns_give_identical_catalogs(shardstream_bin, machine_corpus, tmp_path):
    dumps = []
    for jobs in ("1", "2"):
        db = str(tmp_path / f"db{jobs}")
        run(shardstream_bin, "index", "--db", db, "--corpus", machine_corpus, "--jobs", jobs)
        dumps.append(run(shardstream_bin, "dump", "--db", db).stdout)
    assert dumps[0] == dumps[1]
    out = run(shardstream_bin, "index", "--db", str(tmp_path / "db1"), "--corpus", machine_corpus)
    assert "(unchanged)" in out.stdout and "(0 added" in out.stdout
    assert run(shardstream_bin, "dump", "--db", str(tmp_path / "db1")).stdout == dumps[0]


def make_bad_corpus(root, good_docs):
    """Crafted damage of every kind next to good data."""
    os.makedirs(root / "sub", exist_ok=True)
    lines = [json.dumps({"repo_name": "r/good", "path": f"{i}.py", "content": text,
                         "license": "mit"}) for i, text in enumerate(good_docs)]
    body = ("\n".join(lines) + "\n").encode()
    # A clean gzip file.
    with gzip.open(root / "clean.jsonl.gz", "wb") as f:
        f.write(body)
    # Truncated gzip: keeps every complete line before the cut.
    gz = gzip.compress(body)
    (root / "truncated.jsonl.gz").write_bytes(gz[: len(gz) * 2 // 3])
    # Corrupt gzip: bytes flipped in the middle.
    bad = bytearray(gz)
    for i in range(len(bad) // 2, len(bad) // 2 + 200):
        bad[i] ^= 0x5A
    (root / "sub" / "corrupt.json.gz").write_bytes(bytes(bad))
    # Truncated zstd, made with the zstd tool.
    (root / "z.jsonl").write_bytes(body)
    subprocess.run(["zstd", "-q", "-f", "--rm", str(root / "z.jsonl"), "-o",
                    str(root / "z.jsonl.zst")], check=True)
    z = (root / "z.jsonl.zst").read_bytes()
    (root / "z.jsonl.zst").write_bytes(z[: len(z) // 2])
    # Every kind of bad line between good ones.
    bad_lines = [
        lines[0],
        '{"content": "unterminated',
        '{"content": 42}',
        '{"text": "no content field"}',
        '{"content": "lone surrogate \\ud800 here"}',
        "",
        '["an", "array"]',
        lines[1],
    ]
    raw = ("\n".join(bad_lines) + "\n").encode() + b'{"content": "bad byte \xff"}\n' + lines[2].encode()
    (root / "sub" / "bad.jsonl").write_bytes(raw)
    # Empty files, an unreadable (dangling) link, a file that is not a corpus file.
    (root / "empty.jsonl").write_bytes(b"")
    (root / "empty.jsonl.gz").write_bytes(b"")
    os.symlink("/nonexistent/target.jsonl", root / "dangling.jsonl")
    (root / "README.txt").write_text("not a corpus file")


def test_bad_input_is_counted_and_good_data_kept(shardstream_bin, machine_corpus, tmp_path):
    src = read_file(os.path.join(machine_corpus, sorted(os.listdir(machine_corpus))[0]))
    good = [d["text"] for d in src["docs"][:300]]
    root = tmp_path / "corpus"
    make_bad_corpus(root, good)
    db = str(tmp_path / "db")
    proc = run(shardstream_bin, "index", "--db", db, "--corpus", str(root))
    assert "unreadable: " in proc.stderr and "dangling.jsonl" in proc.stderr
    assert "damaged" in proc.stderr and "empty file: empty.jsonl" in proc.stderr
    got = json.loads(run(shardstream_bin, "stats", "--db", db, "--json", "--files").stdout)
    per_file = {f["path"]: f for f in got["per_file"]}
    assert sorted(per_file) == ["clean.jsonl.gz", "empty.jsonl", "empty.jsonl.gz",
                                "sub/bad.jsonl", "sub/corrupt.json.gz", "truncated.jsonl.gz",
                                "z.jsonl.zst"]
    assert got["files"] == 7 and got["empty_files"] == 2 and got["damaged_files"] == 3

    # Files that decode cleanly, and the truncated gzip, agree exactly with the reference reader:
    # documents, lines, bad lines by kind with the first line number.
    for path in ("clean.jsonl.gz", "sub/bad.jsonl", "truncated.jsonl.gz", "empty.jsonl",
                 "empty.jsonl.gz"):
        ref = read_file(str(root / path))
        f = per_file[path]
        assert f["docs"] == len(ref["docs"]), path
        assert f["lines"] == ref["lines"], path
        assert f["damaged"] == ref["damaged"], path
        assert {k: (v["count"], v["first_line"]) for k, v in f["bad_lines"].items()} == ref["bad"]
    assert per_file["sub/bad.jsonl"]["docs"] == 3
    assert set(per_file["sub/bad.jsonl"]["bad_lines"]) == {
        "invalid_json", "missing_field", "field_not_string", "invalid_utf8"}
    assert 0 < per_file["truncated.jsonl.gz"]["docs"] < len(good)
    assert "truncated" in per_file["truncated.jsonl.gz"]["error"]

    # Corrupt gzip: deflate decodes damaged bytes into text before it (or the member's CRC)
    # fails, so nothing decoded from that member is taken; what was decoded from it (at least
    # the documents the reference decoder, zlib, recovered before the damage) is counted as
    # unverified.
    f, ref = per_file["sub/corrupt.json.gz"], read_file(str(root / "sub/corrupt.json.gz"))
    assert f["damaged"] and f["error"] and f["docs"] == 0
    assert f["bad_lines"]["unverified"]["count"] >= len(ref["docs"]) - 1
    # Truncated zstd: the kept documents are a prefix of the file's true documents, at least
    # those that `zstd -dc` recovered.
    f, ref = per_file["z.jsonl.zst"], read_file(str(root / "z.jsonl.zst"))
    assert f["damaged"] and f["error"]
    assert len(ref["docs"]) - 1 <= f["docs"] < len(good)

    # Every kept document is the right one: compare content hashes through the catalog dump.
    texts = {}
    for path, f in per_file.items():
        ref = read_file(str(root / path))
        for i in range(f["docs"]):
            texts[f["first_doc_id"] + i] = good[i] if path != "sub/bad.jsonl" else ref["docs"][i]["text"]
    docs_dump = run(shardstream_bin, "dump", "--db", db, "--family", "docs").stdout.splitlines()
    assert len(docs_dump) == got["docs"] == len(texts)
    for line in docs_dump:
        doc_id = int(line.split()[1])
        assert f"text_bytes: {len(texts[doc_id].encode())} " in line, line[:200]


def test_exit_status(shardstream_bin, tmp_path):
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "bad.jsonl").write_text('{"text": "wrong field"}\n')
    db = str(tmp_path / "db")
    proc = run(shardstream_bin, "index", "--db", db, "--corpus", str(root), check=False)
    assert proc.returncode == 1 and "nothing could be indexed" in proc.stderr
    (root / "good.jsonl").write_text('{"content": "x = 1"}\n')
    assert run(shardstream_bin, "index", "--db", db, "--corpus", str(root), check=False).returncode == 0
    proc = run(shardstream_bin, "index", "--db", db, "--corpus", str(root), "--strict", check=False)
    assert proc.returncode == 1 and "--strict" in proc.stderr
    proc = run(shardstream_bin, "index", "--db", db, "--corpus", str(root), "--text-field",
               "text", check=False)
    assert proc.returncode == 1 and 'text field "content"' in proc.stderr
    assert run(shardstream_bin, "index", "--db", db, check=False).returncode == 2
    assert run(shardstream_bin, "index", "--bogus", check=False).returncode == 2
    assert run(shardstream_bin, "stats", "--db", str(tmp_path / "none"), check=False).returncode == 1
    assert run(shardstream_bin, "frobnicate", check=False).returncode == 2
    assert "index" in run(shardstream_bin, "--help").stdout


def test_text_field_is_configurable(shardstream_bin, tmp_path):
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "a.jsonl").write_text('{"text": "hello", "content": 1}\n{"text": "world"}\n')
    db = str(tmp_path / "db")
    run(shardstream_bin, "index", "--db", db, "--corpus", str(root), "--text-field", "text")
    got = stats_json(shardstream_bin, db)
    assert got["text_field"] == "text" and got["docs"] == 2 and got["text_bytes"] == 10


def shard_corpus(machine_corpus, out, per_file):
    """Re-shards the machine corpus into many small gzip files (more commit points)."""
    lines = []
    for name in sorted(os.listdir(machine_corpus)):
        with gzip.open(os.path.join(machine_corpus, name), "rt", encoding="utf-8") as f:
            lines.extend(f.read().splitlines())
    os.makedirs(out, exist_ok=True)
    for i in range(0, len(lines), per_file):
        with gzip.open(os.path.join(out, f"part-{i // per_file:04d}.jsonl.gz"), "wt",
                       encoding="utf-8", compresslevel=1) as f:
            f.write("\n".join(lines[i:i + per_file]) + "\n")
    return len(lines)


def test_kill_9_at_any_moment_then_rerun_equals_an_uninterrupted_run(shardstream_bin,
                                                                      machine_corpus, tmp_path):
    corpus = str(tmp_path / "corpus")
    shard_corpus(machine_corpus, corpus, per_file=60)
    dump = lambda db: run(shardstream_bin, "dump", "--db", db).stdout
    rng = random.Random(1234)

    # From scratch.
    clean = str(tmp_path / "clean")
    started = time.monotonic()
    run(shardstream_bin, "index", "--db", clean, "--corpus", corpus)
    full_run = time.monotonic() - started
    crashed = str(tmp_path / "crashed")
    crash_through(shardstream_bin, None, crashed, corpus, rng, full_run)
    assert dump(crashed) == dump(clean)

    # Incremental: change, remove and add files, then crash through the update.
    names = sorted(os.listdir(corpus))
    for name in names[3:6]:
        with gzip.open(os.path.join(corpus, name), "at", encoding="utf-8") as f:
            f.write(json.dumps({"repo_name": "r/new", "content": f"changed {name}"}) + "\n")
    for name in names[10:12]:
        os.remove(os.path.join(corpus, name))
    for i in range(3):
        with gzip.open(os.path.join(corpus, f"added-{i}.jsonl.gz"), "wt") as f:
            f.write(json.dumps({"content": f"new file {i}"}) + "\n")
    before = str(tmp_path / "before")
    shutil.copytree(clean, before)
    run(shardstream_bin, "index", "--db", clean, "--corpus", corpus)
    crash_through(shardstream_bin, before, crashed, corpus, rng, full_run)
    assert dump(crashed) == dump(clean)
