"""Corpus shapes and damage that real datasets have, each test named after what broke before
(issue 16): unreadable folders, many files, long lines, damaged compressed files."""
import gzip
import json
import os
import random
import shutil
import stat
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import peak_rss_mib, run
from interrupted_runs import crash_through

NOBODY = 65534


@pytest.fixture
def workdir():
    """A directory an unprivileged user owns: permission bits only stop a process that is not
    root, so when the suite runs as root the commands run as nobody (setpriv)."""
    path = tempfile.mkdtemp(prefix="shardstream-shapes-")
    os.chmod(path, 0o755)
    if os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY)
    yield path
    for dirpath, dirnames, _ in os.walk(path):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o755)
    shutil.rmtree(path)


def unprivileged(bin_path, *args):
    cmd = [bin_path, *args]
    if os.geteuid() == 0:
        cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True)


def write_lines(path, texts):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        for t in texts:
            f.write(json.dumps({"content": t}) + "\n")
    if os.geteuid() == 0:
        for p in (path, os.path.dirname(path)):
            os.chown(p, NOBODY, NOBODY)


def stats(bin_path, db):
    proc = unprivileged(bin_path, "stats", "--db", db, "--json", "--files")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def make_two_folder_corpus(workdir):
    corpus = os.path.join(workdir, "corpus")
    write_lines(os.path.join(corpus, "a", "1.jsonl"), ["a one", "a two"])
    write_lines(os.path.join(corpus, "a", "2.jsonl"), ["a three"])
    write_lines(os.path.join(corpus, "b", "1.jsonl"), ["b one", "b two", "b three"])
    return corpus


def test_unreadable_subfolder_is_reported_and_its_files_kept(shardstream_bin, workdir):
    corpus = make_two_folder_corpus(workdir)
    db = os.path.join(workdir, "db")
    assert unprivileged(shardstream_bin, "index", "--db", db, "--corpus", corpus).returncode == 0
    before = stats(shardstream_bin, db)
    assert before["docs"] == 6

    os.chmod(os.path.join(corpus, "b"), 0)
    proc = unprivileged(shardstream_bin, "index", "--db", db, "--corpus", corpus, "--strict")
    # Before: "1 removed, 0 unreadable", b's documents dropped and --strict exited 0.
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "unreadable: " + os.path.join(corpus, "b") in proc.stderr
    assert " 0 removed, 1 unreadable paths with 1 catalog files under them kept" in proc.stdout
    after = stats(shardstream_bin, db)
    assert after["docs"] == 6 and after["version"] == before["version"]
    assert sorted(f["path"] for f in after["per_file"]) == ["a/1.jsonl", "a/2.jsonl", "b/1.jsonl"]

    # Readable again, unchanged: nothing to do. Really gone: removed.
    os.chmod(os.path.join(corpus, "b"), 0o755)
    proc = unprivileged(shardstream_bin, "index", "--db", db, "--corpus", corpus, "--strict")
    assert proc.returncode == 0 and "(unchanged)" in proc.stdout, proc.stdout + proc.stderr
    os.remove(os.path.join(corpus, "b", "1.jsonl"))
    proc = unprivileged(shardstream_bin, "index", "--db", db, "--corpus", corpus)
    assert " 1 removed," in proc.stdout and stats(shardstream_bin, db)["docs"] == 3


def test_unreadable_corpus_root_keeps_the_whole_catalog(shardstream_bin, workdir):
    corpus = make_two_folder_corpus(workdir)
    db = os.path.join(workdir, "db")
    assert unprivileged(shardstream_bin, "index", "--db", db, "--corpus", corpus).returncode == 0
    before = stats(shardstream_bin, db)
    os.chmod(corpus, 0)
    proc = unprivileged(shardstream_bin, "index", "--db", db, "--corpus", corpus)
    assert "unreadable: " + corpus in proc.stderr
    assert "3 catalog files under them kept" in proc.stdout
    after = stats(shardstream_bin, db)
    assert after["docs"] == 6 and after["version"] == before["version"]


def test_folder_listable_but_not_searchable_reports_each_file(shardstream_bin, workdir):
    corpus = make_two_folder_corpus(workdir)
    db = os.path.join(workdir, "db")
    assert unprivileged(shardstream_bin, "index", "--db", db, "--corpus", corpus).returncode == 0
    # r without x: names can be listed, the files cannot be stat'ed.
    os.chmod(os.path.join(corpus, "a"), stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    proc = unprivileged(shardstream_bin, "index", "--db", db, "--corpus", corpus)
    assert proc.stderr.count("unreadable: ") == 2, proc.stderr
    assert stats(shardstream_bin, db)["docs"] == 6


def test_tokenize_reads_with_the_line_limit_the_index_used(shardstream_bin, source_dir, tmp_path):
    # Before, tokenize read with its own 64 MiB limit: a line the index had taken (with a higher
    # --max-line-mib) or skipped (with a lower one) made every tokenize fail with "changed since
    # it was indexed". Scaled down: a 2 MiB line under --max-line-mib 1.
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    long_text = "word " * (2 << 19)
    (corpus / "f.jsonl").write_text("\n".join(json.dumps({"content": t}) for t in
                                              ["first", long_text, "third"]) + "\n")
    db = str(tmp_path / "db")
    run(shardstream_bin, "index", "--db", db, "--corpus", str(corpus), "--max-line-mib", "1")
    got = json.loads(run(shardstream_bin, "stats", "--db", db, "--json").stdout)
    assert got["docs"] == 2
    tokenizer = os.path.join(source_dir, "tests", "data", "gpt2", "tokenizer.json")
    proc = run(shardstream_bin, "tokenize", "--db", db, "--tokenizer", tokenizer)
    assert "(0 unchanged, 0 dropped, 0 failed): 2 docs" in proc.stdout, proc.stdout + proc.stderr


def test_documents_of_a_gzip_member_whose_crc_fails_are_reported_not_indexed(
        shardstream_bin, source_dir, tmp_path):
    # Before, 64 corrupted bytes inside a member let documents whose text matched no original
    # into the catalog (and served them). Here the second member's CRC is wrong.
    first = [f"first member document {i}" for i in range(5)]
    second = [f"second member document {i}" for i in range(7)]
    member2 = bytearray(gzip.compress(("\n".join(json.dumps({"content": t}) for t in second)
                                       + "\n").encode()))
    member2[-8] ^= 1  # CRC-32
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "f.jsonl.gz").write_bytes(
        gzip.compress(("\n".join(json.dumps({"content": t}) for t in first) + "\n").encode())
        + bytes(member2))
    db = str(tmp_path / "db")
    proc = run(shardstream_bin, "index", "--db", db, "--corpus", str(corpus))
    assert "damaged" in proc.stderr and "CRC-32 mismatch" in proc.stderr
    got = json.loads(run(shardstream_bin, "stats", "--db", db, "--json", "--files").stdout)
    assert got["docs"] == len(first)
    (f,) = got["per_file"]
    assert f["damaged"] and f["bad_lines"]["unverified"]["count"] == len(second)
    assert f["bad_lines"]["unverified"]["first_line"] == len(first) + 1
    # What tokenize (and so serving) reads back is exactly the first member's documents.
    tokenizer = os.path.join(source_dir, "tests", "data", "gpt2", "tokenizer.json")
    proc = run(shardstream_bin, "tokenize", "--db", db, "--tokenizer", tokenizer)
    assert "(0 unchanged, 0 dropped, 0 failed): 5 docs" in proc.stdout, proc.stdout


def write_gzip_lines(path, texts):
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as f:
        for i, t in enumerate(texts):
            f.write(json.dumps({"content": t, "repo_name": f"r/{i % 97}"}) + "\n")


def many_texts(n, seed):
    """Short texts, a third of them repeated inside the file (so duplicate links cross the
    parts a large file is committed in)."""
    rng = random.Random(seed)
    return [f"def f{rng.randrange(n // 3 if i % 3 == 0 else 10 * n)}(): pass" for i in range(n)]


def dump(bin_path, db):
    return run(bin_path, "dump", "--db", db).stdout


# The least budget for one reader of 1 MiB lines: each file's share is then about 1.3 MiB,
# a tenth of the large file's records.
SMALL_BUDGET = ("--memory-mib", "14", "--max-line-mib", "1")


def test_a_file_beyond_its_memory_share_is_committed_in_parts_like_one_commit_and_survives_kill_9(
        shardstream_bin, tmp_path):
    # Before, a file's records were all held in memory and committed in one batch (3.93 GB for
    # 10 M lines). Now they spill and commit in parts; the catalog must be the one a single
    # commit gives, also when runs are killed while a part of the file is committed.
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_gzip_lines(corpus / "big.jsonl.gz", many_texts(60000, seed=1))
    write_lines(str(corpus / "small.jsonl"), ["def f1(): pass", "small"])
    clean = str(tmp_path / "clean")
    started = time.monotonic()
    run(shardstream_bin, "index", "--db", clean, "--corpus", str(corpus), "--max-line-mib", "1")
    full_run = time.monotonic() - started
    parted = str(tmp_path / "parted")
    run(shardstream_bin, "index", "--db", parted, "--corpus", str(corpus), *SMALL_BUDGET)
    assert dump(shardstream_bin, parted) == dump(shardstream_bin, clean)
    assert not [n for n in os.listdir(parted) if "spill" in n]  # spill files have no name
    rng = random.Random(16)
    crashed = str(tmp_path / "crashed")
    crash_through(shardstream_bin, None, crashed, str(corpus), rng, 2 * full_run, SMALL_BUDGET)
    assert dump(shardstream_bin, crashed) == dump(shardstream_bin, clean)

    # The large file changes: removed in parts (its record first), then added in parts.
    before = str(tmp_path / "before")
    shutil.copytree(clean, before)
    write_gzip_lines(corpus / "big.jsonl.gz", many_texts(50000, seed=2))
    run(shardstream_bin, "index", "--db", clean, "--corpus", str(corpus), "--max-line-mib", "1")
    crash_through(shardstream_bin, before, crashed, str(corpus), rng, 2 * full_run, SMALL_BUDGET)
    assert dump(shardstream_bin, crashed) == dump(shardstream_bin, clean)


def test_index_memory_follows_the_budget_not_the_number_of_documents(shardstream_bin, tmp_path):
    # Before: ≈ 390 bytes per document of one file (10 M lines: 3.93 GB). 400,000 documents in
    # one file were ≈ 180 MiB; within a 16 MiB budget they must stay far below that (RocksDB's
    # table readers and the allocator come on top of the budget, measured ≈ 40 MiB).
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_gzip_lines(corpus / "big.jsonl.gz", many_texts(400000, seed=3))
    db = str(tmp_path / "db")
    rss = peak_rss_mib([shardstream_bin, "index", "--db", db, "--corpus", str(corpus),
                        "--memory-mib", "16", "--max-line-mib", "1"])
    assert json.loads(run(shardstream_bin, "stats", "--db", db, "--json").stdout)["docs"] == 400000
    assert rss < 100, rss


def test_tokenize_memory_follows_the_budget_not_the_length_of_documents(shardstream_bin,
                                                                       source_dir, tmp_path):
    # Before: tokenize had no budget, and each job's encoder took ≈ 30 bytes per byte of a long
    # word (a 48 MiB one: 1.6 GB), so --jobs files of long documents took jobs × that at once.
    # Scaled down: four files, each with one 6 MiB word, at --jobs 4. The least budget the job
    # names holds one such file at a time (≈ 250 MiB measured), not four (≈ 640 MiB).
    rng = random.Random(7)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(4):
        word = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(6 << 20))
        write_lines(str(corpus / f"f{i}.jsonl"), [f"def f{i}(): pass", word, "x = 1"])
    db = str(tmp_path / "db")
    run(shardstream_bin, "index", "--db", db, "--corpus", str(corpus), "--max-line-mib", "8")
    tokenizer = os.path.join(source_dir, "tests", "data", "gpt2", "tokenizer.json")
    tokenize = [shardstream_bin, "tokenize", "--db", db, "--tokenizer", tokenizer, "--jobs", "4"]

    refused = subprocess.run([*tokenize, "--memory-mib", "100"], capture_output=True, text=True)
    assert refused.returncode == 2, refused.stderr
    assert "its longest document 6 MiB" in refused.stderr, refused.stderr
    least = int(refused.stderr.split("give at least --memory-mib ")[1].split(",")[0])
    assert least < 600, least  # below what four at once take

    rss = peak_rss_mib([*tokenize, "--memory-mib", str(least)])
    assert rss < least, (rss, least)
    tokens = json.loads(run(shardstream_bin, "stats", "--db", db, "--json").stdout)["tokenizers"]
    # The same tokens as four files at once under the default budget, in a fresh catalog.
    again = str(tmp_path / "again")
    run(shardstream_bin, "index", "--db", again, "--corpus", str(corpus), "--max-line-mib", "8")
    run(shardstream_bin, "tokenize", "--db", again, "--tokenizer", tokenizer, "--jobs", "4")
    assert tokens == json.loads(run(shardstream_bin, "stats", "--db", again,
                                    "--json").stdout)["tokenizers"]
