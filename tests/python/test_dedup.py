"""`shardstream dedup`: near duplicates found against exact Jaccard computed independently
(planted_corpus.py), crash safety, --jobs and incremental runs equal to a clean run, stats and
plans that use the clustering."""
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import DATA, GPT2, run
from planted_corpus import make_documents, near_duplicate_truth, write_corpus

THRESHOLD = 0.7


def dump(bin_path, db, *families):
    return run(bin_path, "dump", "--db", db, "--family", *families).stdout.splitlines()


def doc_places(bin_path, db):
    """doc id -> (path, line), from the catalog's own records."""
    paths = {}
    for line in dump(bin_path, db, "files"):
        m = re.match(r'files (\d+) .*?path: "([^"]*)"', line)
        paths[int(m.group(1))] = m.group(2)
    places = {}
    for line in dump(bin_path, db, "docs"):
        m = re.match(r"docs (\d+) file_id: (\d+) line: (\d+)", line)
        if m is None:  # file_id 0 is not printed in text format
            m2 = re.match(r"docs (\d+) line: (\d+)", line)
            places[int(m2.group(1))] = (paths[0], int(m2.group(2)))
        else:
            places[int(m.group(1))] = (paths[int(m.group(2))], int(m.group(3)))
    return places


def near_dups(bin_path, db):
    """doc id -> (representative id, jaccard)."""
    out = {}
    for line in dump(bin_path, db, "near_dups"):
        m = re.match(r"near_dups (\d+) (?:representative: (\d+))?\s*(?:jaccard: ([0-9.e-]+))?",
                     line)
        out[int(m.group(1))] = (int(m.group(2) or 0), float(m.group(3) or 0))
    return out


def by_place(bin_path, db):
    """The clustering as (path, line) -> representative's (path, line): comparable across
    catalogs whose ids differ."""
    places = doc_places(bin_path, db)
    return {places[d]: places[r] for d, (r, _) in near_dups(bin_path, db).items()}


@pytest.fixture(scope="module")
def planted(tmp_path_factory, shardstream_bin):
    root = tmp_path_factory.mktemp("planted")
    docs = make_documents()
    where = write_corpus(str(root / "corpus"), docs)
    db = str(root / "db")
    run(shardstream_bin, "index", "--db", db, "--corpus", str(root / "corpus"))
    return {"root": root, "where": where, "db": db, "corpus": str(root / "corpus")}


def quality(shardstream_bin, planted, *extra):
    """(recall, precision, truth, found) of a dedup run against exact Jaccard."""
    db = planted["db"]
    out = run(shardstream_bin, "dedup", "--db", db, *extra).stdout
    assert "near duplicates" in out
    where = planted["where"]  # in file order = id order (one index run, files by path)
    texts = [t for _, _, t in where]
    unique, positive, pairs = near_duplicate_truth(texts, THRESHOLD)
    # The planted levels span 0.3-1.0 on both sides of the threshold (see planted_corpus.py).
    assert sum(1 for j in pairs.values() if 0.5 <= j < THRESHOLD) >= 10
    assert len(positive) >= 100
    places = doc_places(shardstream_bin, db)
    index_of = {(p, l): i for i, (p, l, _) in enumerate(where)}
    predicted = set()
    for d, (r, j) in near_dups(shardstream_bin, db).items():
        di, ri = index_of[places[d]], index_of[places[r]]
        predicted.update((di, ri))
        assert ri < di, "the representative is the cluster's first document"
        assert di in unique and ri in unique, "exact copies are left to exact dedup"
        assert 0 < j <= 1
    tp = len(predicted & positive)
    recall, precision = tp / len(positive), tp / len(predicted)
    print(f"near-dedup {' '.join(extra)} on the planted corpus: {len(unique)} distinct texts, "
          f"{len(positive)} with a neighbour at J >= {THRESHOLD}; predicted {len(predicted)}; "
          f"recall {recall:.3f}, precision {precision:.3f}")
    return recall, precision, positive, predicted


def test_recall_and_precision_against_exact_jaccard(planted, shardstream_bin):
    recall, precision, positive, predicted = quality(shardstream_bin, planted, "--jobs", "2")
    assert recall >= 0.95, (recall, sorted(positive - predicted)[:10])
    assert precision >= 0.98, (precision, sorted(predicted - positive)[:10])


def test_verified_candidates_are_decided_on_their_texts(planted, shardstream_bin):
    # Candidates near the threshold decided on their exact Jaccard: no document the truth does
    # not have, and at least the recall of estimates alone.
    recall, precision, positive, predicted = quality(shardstream_bin, planted, "--verify-margin",
                                                     "0.1")
    assert precision == 1.0, sorted(predicted - positive)[:10]
    assert recall >= 0.95
    near = json.loads(run(shardstream_bin, "stats", "--db", planted["db"], "--json").stdout)
    assert near["near_dedup"]["verify_margin"] == 0.1
    assert 0 < near["near_dedup"]["verified_pairs"] <= near["near_dedup"]["candidate_pairs"]


def test_stats_and_plans_use_the_clustering(planted, shardstream_bin):
    db = planted["db"]
    run(shardstream_bin, "dedup", "--db", db)
    found = near_dups(shardstream_bin, db)
    stats = json.loads(run(shardstream_bin, "stats", "--db", db, "--json").stdout)
    assert stats["near_duplicate_docs"] == len(found)
    assert stats["near_duplicate_clusters"] == len({r for r, _ in found.values()})
    assert stats["near_dedup"]["state"] == "current"
    table = run(shardstream_bin, "stats", "--db", db).stdout
    assert f"near duplicates   {len(found)} (" in table

    run(shardstream_bin, "tokenize", "--db", db, "--tokenizer", GPT2)

    def plan_docs(preset):
        err = run(shardstream_bin, "stream", "--db", db, "--tokenizer", "gpt2", "--filter", preset,
                  "--max-batches", "1", "--batch-size", "1", "--seq-len", "16").stderr
        return int(re.search(r"plan: (\d+) documents", err).group(1))

    assert plan_docs("near-dedup") == stats["unique_docs"] - len(found)
    assert plan_docs("none") == stats["unique_docs"]


def test_filter_refused_until_dedup_is_current(tmp_path, shardstream_bin, planted):
    db = str(tmp_path / "db")
    corpus = tmp_path / "c"
    shutil.copytree(planted["corpus"], corpus)
    run(shardstream_bin, "index", "--db", db, "--corpus", str(corpus))
    run(shardstream_bin, "tokenize", "--db", db, "--tokenizer", GPT2)
    args = ["stream", "--db", db, "--tokenizer", "gpt2", "--filter", "near-dedup",
            "--max-batches", "1", "--seq-len", "16"]
    proc = run(shardstream_bin, *args, check=False)
    assert proc.returncode == 1 and "near-dedup is not run; run `shardstream dedup`" in proc.stderr
    run(shardstream_bin, "dedup", "--db", db)
    run(shardstream_bin, *args)
    # New files: the clustering is stale until dedup runs again.
    write_corpus(str(corpus / "more"), make_documents(seed=8, bases=2, distinct=3), files=1)
    run(shardstream_bin, "index", "--db", db, "--corpus", str(corpus))
    run(shardstream_bin, "tokenize", "--db", db, "--tokenizer", GPT2)
    proc = run(shardstream_bin, *args, check=False)
    assert proc.returncode == 1 and "near-dedup is stale" in proc.stderr
    stats = json.loads(run(shardstream_bin, "stats", "--db", db, "--json").stdout)
    assert stats["near_dedup"]["state"] == "stale"
    assert "signed 1 files (3 unchanged" in run(shardstream_bin, "dedup", "--db", db).stdout
    run(shardstream_bin, *args)


def test_jobs_and_memory_do_not_change_the_result(tmp_path, planted, shardstream_bin):
    results = []
    for i, extra in enumerate([["--jobs", "1"], ["--jobs", "2", "--memory-mib", "1"]]):
        db = str(tmp_path / f"db{i}")
        run(shardstream_bin, "index", "--db", db, "--corpus", planted["corpus"])
        run(shardstream_bin, "dedup", "--db", db, *extra)
        results.append(dump(shardstream_bin, db, "meta", "minhash_files", "minhash", "near_dups"))
    assert results[0] == results[1]
    assert any(line.startswith("near_dups") for line in results[0])


def test_incremental_equals_from_scratch(tmp_path, shardstream_bin):
    docs = make_documents(seed=11, bases=12, distinct=20)
    first, second = docs[: len(docs) // 2], docs[len(docs) // 2:]
    corpus = tmp_path / "corpus"
    # Later files sort before earlier ones, so ids differ from a one-shot index.
    write_corpus(str(corpus / "b"), first, files=2)
    db = str(tmp_path / "incremental")
    run(shardstream_bin, "index", "--db", db, "--corpus", str(corpus))
    run(shardstream_bin, "dedup", "--db", db)
    write_corpus(str(corpus / "a"), second, files=2)
    run(shardstream_bin, "index", "--db", db, "--corpus", str(corpus))
    out = run(shardstream_bin, "dedup", "--db", db).stdout
    assert "signed 2 files (2 unchanged" in out
    scratch = str(tmp_path / "scratch")
    run(shardstream_bin, "index", "--db", scratch, "--corpus", str(corpus))
    run(shardstream_bin, "dedup", "--db", scratch)
    incremental = by_place(shardstream_bin, db)
    assert incremental == by_place(shardstream_bin, scratch)
    assert len(incremental) >= 10


def test_kill_during_dedup_then_rerun_equals_a_clean_run(tmp_path, shardstream_bin):
    # The CodeParrot-format sample (38 MB of text) cut into 40 files, so that signing takes
    # long enough to be interrupted between file commits.
    lines = []
    sample = os.path.join(DATA, "corpus-sample")
    for name in sorted(os.listdir(sample)):
        if name.endswith(".gz"):
            with gzip.open(os.path.join(sample, name), "rt", encoding="utf-8") as f:
                lines.extend(f)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(40):
        with gzip.open(corpus / f"part-{i:02d}.jsonl.gz", "wt", compresslevel=1,
                       encoding="utf-8") as out:
            out.writelines(lines[i::40])
    base = str(tmp_path / "base")
    run(shardstream_bin, "index", "--db", base, "--corpus", str(corpus))
    clean = str(tmp_path / "clean")
    shutil.copytree(base, clean)
    run(shardstream_bin, "dedup", "--db", clean, "--jobs", "1")
    expected = dump(shardstream_bin, clean, "meta", "minhash_files", "minhash", "near_dups")

    killed_at = []
    for wanted in (1, 10, 25):
        db = str(tmp_path / f"killed-{wanted}")
        shutil.copytree(base, db)
        proc = subprocess.Popen([shardstream_bin, "dedup", "--db", db, "--jobs", "1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # Kill it once `wanted` files are committed (read-only opens see its commits).
        while proc.poll() is None and len(dump(shardstream_bin, db, "minhash_files")) < wanted:
            time.sleep(0.005)
        finished = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        signed = len(dump(shardstream_bin, db, "minhash_files"))
        killed_at.append((wanted, finished, signed))
        out = run(shardstream_bin, "dedup", "--db", db, "--jobs", "1").stdout
        assert dump(shardstream_bin, db, "meta", "minhash_files", "minhash", "near_dups") == expected
        if not finished:
            assert f"({signed} unchanged" in out
    print("killed at (wanted, finished, signed):", killed_at)
    # At least one kill landed part-way through signing.
    assert any(not finished and 0 < signed < 40 for _, finished, signed in killed_at), killed_at


def test_clusters_stay_inside_parts_and_match_a_catalog_holding_one_partition(
        tmp_path, shardstream_bin):
    corpus = tmp_path / "corpus"
    write_corpus(str(corpus), make_documents(seed=13, bases=25, distinct=40), files=12)
    full = str(tmp_path / "full")
    run(shardstream_bin, "index", "--db", full, "--corpus", str(corpus), "--partitions", "3")
    run(shardstream_bin, "dedup", "--db", full)
    partition_of = {}
    for line in dump(shardstream_bin, full, "files"):
        m = re.match(r'files \d+ .*?path: "([^"]*)"', line)
        p = re.search(r"partition: (\d+)", line)
        partition_of[m.group(1)] = int(p.group(1)) if p else 0
    clusters = by_place(shardstream_bin, full)
    assert len(clusters) >= 5
    assert all(partition_of[d[0]] == partition_of[r[0]] for d, r in clusters.items())
    # A server holding partition 1 alone finds exactly the full catalog's clusters of it: a
    # part's clustering depends on its own content only.
    one = str(tmp_path / "one")
    run(shardstream_bin, "index", "--db", one, "--corpus", str(corpus), "--partitions", "3",
        "--own", "1")
    run(shardstream_bin, "dedup", "--db", one)
    expected = {d: r for d, r in clusters.items() if partition_of[d[0]] == 1}
    assert expected and by_place(shardstream_bin, one) == expected


def test_pods_that_prepare_near_dedup_serve_the_stream_of_one_deduplicated_catalog(
        tmp_path, shardstream_bin):
    # Three pods, each preparing its third of a P = 3 dataset with --near-dedup-threshold,
    # give exactly the near-deduplicated stream of one catalog holding everything: clusters
    # are per part, so no pod needs another's documents.
    corpus = str(tmp_path / "corpus")
    write_corpus(corpus, make_documents(seed=17, bases=20, distinct=30), files=9)
    reference = str(tmp_path / "reference")
    run(shardstream_bin, "index", "--db", reference, "--corpus", corpus, "--partitions", "3")
    run(shardstream_bin, "tokenize", "--db", reference, "--tokenizer", GPT2)
    run(shardstream_bin, "dedup", "--db", reference)
    request = ["--tokenizer", "gpt2", "--filter", "near-dedup", "--seq-len", "64",
               "--batch-size", "4", "--seed", "3", "--max-batches", "30"]
    want = run(shardstream_bin, "stream", "--db", reference, *request).stdout
    none = run(shardstream_bin, "stream", "--db", reference, *request[:2], "--filter", "none",
               *request[4:]).stdout
    assert want != none
    pods = []
    try:
        for i in range(3):
            env = dict(os.environ, POD_NAME=f"shard-{i}", SHARDSTREAM_REPLICAS="3")
            proc = subprocess.Popen(
                [shardstream_bin, "serve", "--db", str(tmp_path / f"pod-{i}"), "--listen",
                 "127.0.0.1:0", "--index-corpus", corpus, "--tokenizer", GPT2,
                 "--tokenizer-name", "gpt2", "--partitions", "3", "--own-from-ordinal",
                 "--near-dedup-threshold", "0.7"], stderr=subprocess.PIPE, text=True, env=env)
            line = proc.stderr.readline()
            assert "listening on 127.0.0.1:" in line, line
            pods.append((proc, "127.0.0.1:" + line.split("listening on 127.0.0.1:")[1].split()[0]))
        # The client may come while the pods still prepare: it retries until they serve.
        got = run(shardstream_bin, "stream", "--server", ",".join(a for _, a in pods),
                  *request).stdout
        assert got == want
        for proc, _ in pods:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
            assert "near duplicates in" in proc.stderr.read()
    finally:
        for proc, _ in pods:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
