"""Partitions and mixtures end to end: shard servers that each hold some partitions, replicas,
crashes, resumes, weighted sources — against the embedded single-catalog stream and against an
independent reconstruction in Python of the interleave and the packing.

The corpus is made of short, unique documents (a few tokens each), so every row of a stream
holds complete documents and each complete document names the part it came from.
"""
import heapq
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import GPT2, Server, run, stream_jsonl, stream_while

P = 6
EOS = 50256
# The request every comparison uses; seq_len 64 holds several documents per row.
REQUEST = ("--tokenizer", "gpt2", "--seq-len", "64", "--doc-boundaries")


SOURCES = ("code", "notes", "prose")


def write_corpus(root):
    """Source "code": 36 files of 12 functions; "notes": 8 files of 6 notes (few sequences: it
    repeats when weighted up); "prose": 12 files of 8 sentences."""
    for f in range(36):
        lines = []
        for d in range(12):
            text = f"def f{f}_{d}(x):\n    return x * {f * 100 + d}\n"
            lines.append(json.dumps({"content": text}))
        path = os.path.join(root, "code", f"pkg{f % 4}", f"mod{f}.jsonl")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as out:
            out.write("\n".join(lines) + "\n")
    for f in range(8):
        lines = [json.dumps({"content": f"Note {f}.{d}: remember the milk, {d} times."})
                 for d in range(6)]
        with open(os.path.join(root, "notes", f"n{f}.jsonl"), "w") as out:
            out.write("\n".join(lines) + "\n")
    os.makedirs(os.path.join(root, "prose"), exist_ok=True)
    for f in range(12):
        lines = [json.dumps({"content": f"Chapter {f}, line {d}: the quick brown fox jumps."})
                 for d in range(8)]
        with open(os.path.join(root, "prose", f"ch{f}.jsonl"), "w") as out:
            out.write("\n".join(lines) + "\n")


def index_and_tokenize(bin_path, root, db, own=None):
    for source in SOURCES:
        args = ["index", "--db", db, "--corpus", os.path.join(root, source), "--source", source,
                "--partitions", str(P)]
        if own:
            args += ["--own", own]
        run(bin_path, *args)
    run(bin_path, "tokenize", "--db", db, "--tokenizer", GPT2)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, shardstream_bin):
    """Catalogs: "all" (every partition), "s0".."s2" (i/3), "r0".."r2" (replicas of those)."""
    base = tmp_path_factory.mktemp("partitions")
    root = str(base / "corpus")
    os.makedirs(os.path.join(root, "notes"), exist_ok=True)
    write_corpus(root)
    dbs = {"all": str(base / "all")}
    index_and_tokenize(shardstream_bin, root, dbs["all"])
    for i in range(3):
        for kind in ("s", "r"):
            dbs[f"{kind}{i}"] = str(base / f"{kind}{i}")
            index_and_tokenize(shardstream_bin, root, dbs[f"{kind}{i}"], own=f"{i}/3")
    return root, dbs


@pytest.fixture(scope="module")
def cluster(shardstream_bin, dataset):
    _, dbs = dataset
    started = {name: Server(shardstream_bin, db) for name, db in dbs.items()}
    yield started
    for s in started.values():
        if s.proc.poll() is None:
            s.kill9()


def addresses(cluster, *names):
    return ",".join(cluster[n].address for n in names)


def remote(bin_path, servers, *args):
    out = run(bin_path, "stream", "--server", servers, "--format", "jsonl", *REQUEST, *args)
    return [json.loads(line) for line in out.stdout.splitlines()], out.stderr


def test_one_server_three_partition_servers_and_replicas_stream_the_same(
        shardstream_bin, dataset, cluster):
    _, dbs = dataset
    layouts = [("all",), ("s0", "s1", "s2"), ("s2", "s0", "s1"),
               ("s0", "r0", "s1", "r1", "s2", "r2")]
    for seed in ("1", "2"):
        for world in (1, 2):
            for rank in range(world):
                args = ("--seed", seed, "--world-size", str(world), "--rank", str(rank),
                        "--batch-size", "3", "--max-batches", "60")
                reference, _ = stream_jsonl(dbs["all"], *REQUEST, *args)
                assert len(reference) == 60
                embedded_split, _ = stream_jsonl(dbs["s0"], "--db", dbs["s1"], "--db", dbs["s2"],
                                                 *REQUEST, *args)
                assert embedded_split == reference
                for layout in layouts:
                    got, _ = remote(shardstream_bin, addresses(cluster, *layout), *args)
                    assert got == reference, (layout, seed, world, rank)


def test_python_reader_reads_partition_servers_like_the_embedded_stream(dataset, cluster):
    import numpy as np
    import shardstream
    _, dbs = dataset
    reference, _ = stream_jsonl(dbs["all"], *REQUEST, "--seed", "4", "--batch-size", "4",
                                "--max-batches", "25")
    reader = shardstream.Reader(addresses(cluster, "s0", "s1", "s2", "r1"), tokenizer="gpt2",
                                seq_len=64, batch_size=4, seed=4, doc_boundaries=True)
    for want, got in zip(reference, reader):
        assert np.array_equal(got.tokens, np.array(want["tokens"], dtype=np.uint16))
        assert got.cursor == want["cursor"] and got.step == want["step"]
        assert [list(s) for s in got.doc_starts] == want["doc_starts"]
    info = shardstream.server_info(cluster["s1"].address)
    assert info["partitions"] == P and info["held_partitions"] == [1, 4]


def test_resume_with_other_servers_and_world_size_then_again(shardstream_bin, dataset, cluster):
    """Resume a 1-server, 1-rank stream on 3 partition servers with 2 ranks, then resume that
    resumed stream once more (datasets#8308): still exactly the uninterrupted stream."""
    _, dbs = dataset
    full, _ = stream_jsonl(dbs["all"], *REQUEST, "--seed", "9", "--batch-size", "8",
                           "--max-batches", "60")
    rows = [row for b in full for row in b["tokens"]]

    def resumed_rows(cursor, servers, batches):
        ranks = [remote(shardstream_bin, servers, "--seed", "9", "--batch-size", "4",
                        "--world-size", "2", "--rank", str(r), "--resume", cursor,
                        "--max-batches", str(batches))[0] for r in range(2)]
        out = []
        for step in range(batches):
            assert ranks[0][step]["cursor"] == ranks[1][step]["cursor"]
            out += ranks[0][step]["tokens"] + ranks[1][step]["tokens"]
        return out, ranks[0][-1]["cursor"]

    first, cursor = resumed_rows(full[19]["cursor"], addresses(cluster, "s0", "s1", "s2"), 15)
    assert first == rows[20 * 8:35 * 8]
    second, _ = resumed_rows(cursor, addresses(cluster, "r2", "s0", "r1"), 25)
    assert second == rows[35 * 8:60 * 8]


LONG = 4000


LONG_ARGS = (*REQUEST, "--seed", "3", "--batch-size", "8", "--max-batches", str(LONG))


def test_killing_partition_servers_mid_stream_changes_nothing(shardstream_bin, dataset, tmp_path):
    _, dbs = dataset
    reference = tmp_path / "reference.npy"
    run(shardstream_bin, "stream", "--db", dbs["all"], *LONG_ARGS, "--format", "npy", "--out",
        str(reference))
    servers = {n: Server(shardstream_bin, dbs[n]) for n in ("s0", "r0", "s1", "s2")}
    try:
        # Partition class 0 has a replica: kill -9 one of them, the other answers.
        err = stream_while(addresses(servers, "s0", "r0", "s1", "s2"), tmp_path / "failover.npy",
                           servers["s0"].kill9, LONG_ARGS, 60_000)
        assert (tmp_path / "failover.npy").read_bytes() == reference.read_bytes()
        # Class 1 has none: the client retries until the server is back on its port.
        s1 = servers["s1"]

        def restart():
            s1.kill9()
            time.sleep(1.0)
            s1.start(s1.port)

        err = stream_while(addresses(servers, "r0", "s1", "s2"), tmp_path / "restart.npy",
                           restart, LONG_ARGS, 60_000)
        assert (tmp_path / "restart.npy").read_bytes() == reference.read_bytes()
        reconnects = int(re.search(r"(\d+) reconnects", err).group(1))
        assert reconnects >= 1, err
    finally:
        for s in servers.values():
            if s.proc.poll() is None:
                s.kill9()


def test_missing_partition_or_disagreeing_replica_is_refused_by_name(
        shardstream_bin, dataset, cluster, tmp_path):
    _, dbs = dataset
    out = run(shardstream_bin, "stream", "--server", addresses(cluster, "s0", "s2"), *REQUEST,
              "--seed", "1", "--batch-size", "2", "--max-batches", "1", check=False)
    assert out.returncode == 1
    assert "partitions 1,4 of 6 held by no reachable holder" in out.stderr
    # A replica of class 1 indexed from a corpus where one file changed: other version.
    root, _ = dataset
    changed = str(tmp_path / "changed")
    subprocess.run(["cp", "-r", root, changed], check=True)
    for dirpath, _, files in os.walk(os.path.join(changed, "code")):
        for name in files:
            with open(os.path.join(dirpath, name), "a") as f:
                f.write(json.dumps({"content": "def extra():\n    pass\n"}) + "\n")
    db = str(tmp_path / "changed-db")
    index_and_tokenize(shardstream_bin, changed, db, own="1/3")
    odd = Server(shardstream_bin, db)
    try:
        out = run(shardstream_bin, "stream", "--server",
                  f"{cluster['s0'].address},{cluster['s1'].address},{odd.address},"
                  f"{cluster['s2'].address}", *REQUEST, "--seed", "1", "--batch-size", "2",
                  "--max-batches", "1", check=False)
        assert out.returncode == 1 and "partition 1 differs between" in out.stderr, out.stderr
    finally:
        odd.kill9()


# --- An independent reconstruction: parts, sizes, the interleave and the packing -------------

def parts_of(bin_path, db, root):
    """{(source, partition): [token lists of its documents in canonical order]}, from the
    catalog's file records (partition, source, path) and the corpus files encoded one by one."""
    dump = run(bin_path, "dump", "--db", db, "--family", "files").stdout.splitlines()
    files = []
    for line in dump:
        path = re.search(r'path: "([^"]*)"', line).group(1)
        m = re.search(r"partition: (\d+)", line)
        source = re.search(r'source: "([^"]*)"', line).group(1)
        files.append((source, int(m.group(1)) if m else 0, path))
    docs = {}
    for source, partition, path in sorted(files):
        with open(os.path.join(root, source, path)) as f:
            texts = [json.loads(line)["content"] for line in f if line.strip()]
        docs.setdefault((source, partition), []).extend(texts)
    encoded = {}
    all_texts = sorted({t for ts in docs.values() for t in ts})
    listing = "\n".join(json.dumps({"text": t}) for t in all_texts)
    out = subprocess.run([bin_path, "encode", "--tokenizer", GPT2, "--jsonl", "/dev/stdin"],
                         input=listing, capture_output=True, text=True, check=True).stdout
    for text, ids in zip(all_texts, out.splitlines()):
        encoded[text] = json.loads(ids)
    return {key: [encoded[t] for t in texts] for key, texts in docs.items()}


class Tree:
    """The interleave as its definition reads: a Huffman tree over the weights (ties: the
    subtree with the smaller part index first, the first taken goes left), each node giving
    the left child floor(m·a/w + 1/2) of its first m sequences."""

    def __init__(self, weights):
        heap = [(w, i, ("leaf", i)) for i, w in enumerate(weights)]
        heapq.heapify(heap)
        while len(heap) > 1:
            wa, ia, a = heapq.heappop(heap)
            wb, ib, b = heapq.heappop(heap)
            heapq.heappush(heap, (wa + wb, min(ia, ib), ("node", wa, wa + wb, a, b)))
        self.root = heap[0][2]

    def locate(self, k):
        node, m = self.root, k
        while node[0] == "node":
            _, a, w, left, right = node
            before = (2 * m * a + w) // (2 * w)
            after = (2 * (m + 1) * a + w) // (2 * w)
            node, m = (left, before) if after > before else (right, m - before)
        return node[1], m


def weights_for(mix, keys, sequences):
    if not mix:
        return list(sequences)
    shares = {}
    total = sum(mix.values())
    for name, w in mix.items():
        shares[name] = (w << 60) // total
    by_source = {}
    for key, s in zip(keys, sequences):
        by_source[key[0]] = by_source.get(key[0], 0) + s
    return [0 if key[0] not in mix or s == 0 else max(1, shares[key[0]] * s // by_source[key[0]])
            for key, s in zip(keys, sequences)]


@pytest.mark.parametrize("mix", ["", "code=7,notes=3", "code=1,notes=1",
                                 "code=5,notes=3,prose=2"])
def test_interleave_and_packing_match_an_independent_reconstruction(
        shardstream_bin, dataset, cluster, mix):
    root, dbs = dataset
    parts = parts_of(shardstream_bin, dbs["all"], root)
    keys = sorted(parts)
    # Sizes from the texts encoded alone: each document + EOS, cut into windows of 64.
    sequences = [sum(len(d) + 1 for d in parts[k]) // 64 for k in keys]
    nano = {n: int(w) * 10**9 for n, w in (i.split("=") for i in mix.split(","))} if mix else {}
    if mix:
        assert set(nano) <= set(SOURCES)
    weights = weights_for(nano, keys, sequences)
    streamed = [k for k, w in zip(keys, weights) if w > 0]
    tree = Tree([w for w in weights if w > 0])
    per_epoch = sum(s for k, s in zip(keys, sequences) if k in streamed)
    doc_part = {tuple(d): k for k in keys for d in parts[k]}

    args = ["--seed", "6", "--batch-size", "5", "--max-batches", "120"]
    if mix:
        args += ["--mix", mix]
    batches, _ = remote(shardstream_bin, addresses(cluster, "s0", "s1", "s2"), *args)
    rows = [row for b in batches for row in b["tokens"]]
    assert len(rows) == 600
    part_epoch_docs = {}
    part_rows = {}  # natural mixture, epoch 0: (part sequence, row) by part
    for i, row in enumerate(rows):
        epoch, index = divmod(i, per_epoch // 5 * 5)  # global epochs drop their tail
        part, local = tree.locate(epoch * per_epoch + index)
        key = streamed[part]
        # The row's complete documents all come from that part (EOS-separated, encoded alone).
        pieces = []
        current = []
        for t in row:
            if t == EOS:
                pieces.append(current)
                current = []
            else:
                current.append(t)
        complete = pieces[1:]
        assert complete, "rows of short documents hold complete ones"
        for doc in complete:
            assert doc_part.get(tuple(doc)) == key, (i, key)
        part_sequences = sequences[keys.index(key)]
        part_epoch_docs.setdefault((key, local // part_sequences), []).extend(
            tuple(d) for d in complete)
        if not mix and epoch == 0:
            part_rows.setdefault(key, []).append((local, row))
        # Proportions: every part within 2 sequences of its share at every prefix.
        total = sum(w for w in weights if w > 0)
        k = epoch * per_epoch + index + 1
        for j, key2 in enumerate(streamed):
            share = [w for w in weights if w > 0][j] / total
            assert abs(tree_count(tree, j, k) - k * share) < 2
    if not mix:
        # Packing: a part's rows of epoch 0, in the order of its sequences, are the consecutive
        # windows of one concatenation of its documents (each once, each followed by EOS),
        # starting at a document boundary.
        assert len(part_rows) == len(streamed)
        for key, served in part_rows.items():
            assert [local for local, _ in served] == list(range(len(served)))
            stream = [t for _, row in served for t in row]
            pieces, current = [], []
            for t in stream:
                if t == EOS:
                    pieces.append(tuple(current))
                    current = []
                else:
                    current.append(t)
            docs = [tuple(d) for d in parts[key]]
            assert len(set(pieces)) == len(pieces)  # no document twice in an epoch
            assert set(pieces) <= set(docs)
            if len(served) == sequences[keys.index(key)]:  # the whole part epoch was served
                # What is not a complete piece is the last, partial one and the remainder of
                # fewer than seq_len tokens that packing drops.
                missing = sum(len(d) + 1 for d in docs) - sum(len(p) + 1 for p in pieces)
                assert missing < 64 + max(len(d) + 1 for d in docs)
    if mix == "code=1,notes=1":
        # notes is far below half of the data, so its parts ran through several epochs, each
        # a new shuffle of the same documents.
        repeated = [(key, e) for (key, e) in part_epoch_docs if key[0] == "notes" and e >= 1]
        assert repeated
        key, e = repeated[0]
        first, again = part_epoch_docs[(key, 0)], part_epoch_docs[(key, e)]
        assert set(first) <= set(map(tuple, parts[key])) and set(again) <= set(map(tuple, parts[key]))
        assert first[:len(again)] != again[:len(first)]


def tree_count(tree, part, k):
    """Sequences of `part` among the first k, by walking the tree's locate (small k only)."""
    cache = tree.__dict__.setdefault("_counts", {})
    if not cache or cache["k"] > k:
        cache.clear()
        cache.update(k=0, counts={})
    while cache["k"] < k:
        p, _ = tree.locate(cache["k"])
        cache["counts"][p] = cache["counts"].get(p, 0) + 1
        cache["k"] += 1
    return cache["counts"].get(part, 0)


def test_a_cursor_of_another_mixture_is_refused(shardstream_bin, dataset, cluster):
    _, dbs = dataset
    batches, _ = remote(shardstream_bin, addresses(cluster, "s0", "s1", "s2"), "--seed", "1",
                        "--batch-size", "2", "--max-batches", "3", "--mix", "code=0.7,notes=0.3")
    out = run(shardstream_bin, "stream", "--server", addresses(cluster, "all"), *REQUEST,
              "--seed", "1", "--batch-size", "2", "--max-batches", "1", "--mix",
              "code=0.5,notes=0.5", "--resume", batches[-1]["cursor"], check=False)
    assert out.returncode == 1 and "mixture" in out.stderr, out.stderr


def test_stats_report_partitions_and_sources(shardstream_bin, dataset):
    _, dbs = dataset
    stats = {name: json.loads(run(shardstream_bin, "stats", "--db", db, "--json").stdout)
             for name, db in dbs.items()}
    assert stats["all"]["partitions"] == P and stats["all"]["held_partitions"] == list(range(P))
    assert stats["s1"]["held_partitions"] == [1, 4]
    assert stats["all"]["sources"]["code"]["files"] == 36
    assert stats["all"]["sources"]["notes"] == {"files": 8, "docs": 48}
    # The three thirds hold every file exactly once.
    for source in SOURCES:
        for key in ("files", "docs"):
            assert sum(stats[f"s{i}"]["sources"].get(source, {}).get(key, 0)
                       for i in range(3)) == stats["all"]["sources"][source][key]


def start_pod(bin_path, ordinal, replicas, db, corpus):
    """`serve` as the StatefulSet runs it: pod identity from the environment, the catalog
    prepared (indexed and tokenized) at start-up. Returns (process, address)."""
    env = dict(os.environ, POD_NAME=f"shard-{ordinal}", SHARDSTREAM_REPLICAS=str(replicas))
    proc = subprocess.Popen([bin_path, "serve", "--db", db, "--listen", "127.0.0.1:0",
                             "--index-corpus", corpus, "--source", "code", "--tokenizer", GPT2,
                             "--tokenizer-name", "gpt2", "--partitions", str(P),
                             "--own-from-ordinal"], stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stderr.readline()
    assert "listening on 127.0.0.1:" in line and "NOT_SERVING" in line, line
    return proc, "127.0.0.1:" + line.split("listening on 127.0.0.1:")[1].split()[0]


def test_pods_prepare_their_partitions_at_start_then_serve(shardstream_bin, dataset, tmp_path):
    root, _ = dataset
    corpus = os.path.join(root, "code")
    reference = str(tmp_path / "reference")
    run(shardstream_bin, "index", "--db", reference, "--corpus", corpus, "--source", "code",
        "--partitions", str(P))
    run(shardstream_bin, "tokenize", "--db", reference, "--tokenizer", GPT2)
    want, _ = stream_jsonl(reference, *REQUEST, "--seed", "8", "--batch-size", "4",
                           "--max-batches", "40")
    pods = [start_pod(shardstream_bin, i, 3, str(tmp_path / f"pod-{i}"), corpus) for i in range(3)]
    try:
        # The client may arrive while the pods still prepare: it retries until they serve.
        got, _ = remote(shardstream_bin, ",".join(a for _, a in pods), "--seed", "8",
                        "--batch-size", "4", "--max-batches", "40")
        assert got == want
        for proc, _ in pods:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
            assert "serving" in proc.stderr.read()
        # A restarted pod resumes its catalog: nothing is read again.
        proc, address = start_pod(shardstream_bin, 1, 3, str(tmp_path / "pod-1"), corpus)
        pods[1] = (proc, address)
        lines = []
        while not any("serving" in l for l in lines):
            lines.append(proc.stderr.readline())
            assert lines[-1], lines
        assert any("(0 read, " in l for l in lines), lines
        assert any("partitions 1,4 of 6" in l for l in lines), lines
    finally:
        for proc, _ in pods:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_a_pod_without_an_ordinal_or_tokenizer_is_refused(shardstream_bin, tmp_path):
    env = dict(os.environ, POD_NAME="shard", SHARDSTREAM_REPLICAS="3")
    out = subprocess.run([shardstream_bin, "serve", "--db", str(tmp_path / "db"), "--index-corpus",
                          str(tmp_path), "--tokenizer", GPT2, "--own-from-ordinal"],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 2 and "ordinal" in out.stderr
    out = run(shardstream_bin, "serve", "--db", str(tmp_path / "db"), "--index-corpus",
              str(tmp_path), check=False)
    assert out.returncode == 2 and "--tokenizer" in out.stderr
