"""The daemon on a cluster network: metrics, logs, following its data, and the findings of
trying to wedge it as a hostile client would (each test named after its finding)."""
import json
import math
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

import shardstream
from conftest import GPT2, Server, free_port, run, stream_jsonl, take

PLAN = dict(tokenizer="gpt2", seq_len=128, batch_size=4, seed=5)
PLAN_FLAGS = ("--tokenizer", "gpt2", "--seq-len", "128", "--batch-size", "4", "--seed", "5")


def scrape(port):
    """{(name, frozenset(labels)): value} of the server's /metrics, and the raw text."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    values = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, value = line.rsplit(" ", 1)
        name, _, labels = name_labels.partition("{")
        pairs = frozenset(tuple(p.split("=", 1)) for p in labels.rstrip("}").split(",") if p)
        values[(name, frozenset((k, v.strip('"')) for k, v in pairs))] = float(value)
    return values, text


def metric(values, name, **labels):
    return values.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_what_was_streamed_and_pass_promtool(shardstream_bin, catalog, servers):
    port = free_port()
    server = Server(shardstream_bin, catalog, extra=("--metrics-listen", f"127.0.0.1:{port}"))
    servers.append(server)
    reader = shardstream.Reader(server.address, epochs=1, **PLAN)
    tokens = sum(b.tokens.size for b in reader)  # the whole epoch: no row fetched twice
    assert tokens > 0 and reader.reconnects == 0
    values, text = scrape(port)
    assert metric(values, "shardstream_tokens_served_total", rpc="ReadSequences") == tokens
    assert metric(values, "shardstream_token_bytes_served_total", rpc="ReadSequences") == 2 * tokens
    assert metric(values, "shardstream_calls_total", method="GetPlan", code="OK") == 1
    assert metric(values, "shardstream_calls_total", method="ReadSequences", code="OK") >= 1
    assert metric(values, "shardstream_plan_build_seconds_count") == 1
    assert metric(values, "shardstream_plans_cached") >= 1
    assert metric(values, "shardstream_readers_open") == 1
    assert metric(values, "shardstream_streams_open") == 0
    assert metric(values, "shardstream_dataset_versions_open") == 1
    # One epoch read: each part's layout of it built once, in memory with 12 bytes a document.
    layouts = metric(values, "shardstream_epoch_layouts")
    assert layouts >= 1
    assert metric(values, "shardstream_epoch_layouts_built_total") == layouts
    assert metric(values, "shardstream_epoch_layout_bytes") >= 12 * layouts
    cache = (metric(values, "shardstream_block_cache_hits_total") +
             metric(values, "shardstream_block_cache_misses_total"))
    assert cache > 0
    assert 10 << 20 < metric(values, "process_resident_memory_bytes") < 4 << 30
    # A refused call is counted too.
    with pytest.raises(shardstream.ShardstreamError):
        next(shardstream.Reader(server.address, tokenizer="nope", seq_len=8, batch_size=1))
    values, text = scrape(port)
    assert metric(values, "shardstream_calls_total", method="GetPlan", code="NOT_FOUND") == 1
    lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                          text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_json_logs_have_one_line_per_reader_opened_and_ended(shardstream_bin, catalog, servers):
    server = Server(shardstream_bin, catalog, extra=("--log-format", "json"))
    servers.append(server)
    reader = shardstream.Reader(server.address, epochs=1, rank=1, world_size=2, **PLAN)
    tokens = sum(b.tokens.size for b in reader)
    reader.close()
    assert server.stop() == 0
    server._drain.join(timeout=10)
    events = [json.loads(line) for line in server.log]  # every line is one JSON object
    assert all({"time", "severity", "message"} <= set(e) for e in events)
    opened = [e for e in events if e["message"] == "reader opened"]
    ended = [e for e in events if e["message"] == "reader ended"]
    assert len(opened) == len(ended) == 1
    assert opened[0]["rank"] == "1/2" and opened[0]["plan"] == "gpt2/128"
    assert opened[0]["peer"].startswith("ipv4:127.0.0.1:")
    assert ended[0]["reader"] == opened[0]["reader"]
    assert int(ended[0]["tokens"]) == tokens and ended[0]["status"] == "OK"


def small_corpus(tmp_path, files):
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    for name, n in files:
        with open(corpus / name, "w") as f:
            for i in range(n):
                body = f"def {name[:-6]}_{i}(x):\n    return x * {i} + len('{name}')\n" * 8
                f.write(json.dumps({"content": body}) + "\n")
    return str(corpus)


def test_a_running_server_follows_index_and_tokenize_and_old_readers_keep_their_version(
        shardstream_bin, servers, tmp_path):
    corpus = small_corpus(tmp_path, [("a.jsonl", 60), ("b.jsonl", 40)])
    db = str(tmp_path / "db")
    run(shardstream_bin, "index", "--db", db, "--corpus", corpus)
    run(shardstream_bin, "tokenize", "--db", db, "--tokenizer", GPT2)
    before = str(tmp_path / "before")
    shutil.copytree(db, before)
    server = Server(shardstream_bin, db, extra=("--follow-seconds", "1"))
    servers.append(server)
    info = shardstream.server_info(server.address)
    old_version = info["dataset_version"]
    flags = ("--tokenizer", "gpt2", "--seq-len", "64", "--batch-size", "2", "--seed", "9",
             "--epochs", "1")
    plan = dict(tokenizer="gpt2", seq_len=64, batch_size=2, seed=9, epochs=1)
    old_reader = shardstream.Reader(server.address, prefetch_batches=1, **plan)
    first = take(old_reader, 1)

    small_corpus(tmp_path, [("c.jsonl", 30)])
    run(shardstream_bin, "index", "--db", db, "--corpus", corpus)
    run(shardstream_bin, "tokenize", "--db", db, "--tokenizer", GPT2)
    deadline = time.time() + 60
    while True:
        info = shardstream.server_info(server.address)
        gpt2 = [t for t in info["tokenizers"] if t["name"] == "gpt2"][0]
        if info["files"] == 3 and gpt2["ready"] or time.time() > deadline:
            break
        time.sleep(0.2)
    assert info["files"] == 3 and gpt2["ready"], info
    assert info["dataset_version"] != old_version
    assert old_version in info["previous_versions"]
    server.wait_for_log("catalog changed: serving version")

    new_batches = [b.tokens.tolist() for b in shardstream.Reader(server.address, **plan)]
    want_new = [b["tokens"] for b in stream_jsonl(db, *flags)[0]]
    assert new_batches == want_new
    assert len(want_new) > len(stream_jsonl(before, *flags)[0])  # the new documents are in
    rest = list(old_reader)
    want_old = [b["tokens"] for b in stream_jsonl(before, *flags)[0]]
    assert [b.tokens.tolist() for b in first + rest] == want_old


def test_server_keeps_accepting_after_file_descriptor_exhaustion(shardstream_bin, catalog,
                                                                 servers):
    """Finding: under a low open-file limit, 1,100 idle TCP connections made accept4() fail
    with EMFILE, after which gRPC 1.51 never accepted again. Now the server listens again."""
    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200))  # the hard limit too

    port = free_port()
    proc = subprocess.Popen([shardstream_bin, "serve", "--db", catalog, "--listen",
                             f"127.0.0.1:{port}"], stderr=subprocess.PIPE, text=True,
                            preexec_fn=low_limit)
    server = Server.__new__(Server)
    server.proc, server.address = proc, f"127.0.0.1:{port}"
    servers.append(server)
    assert "listening on" in proc.stderr.readline()
    sockets = []
    for _ in range(300):  # more than the limit: accept4() fails with EMFILE
        s = socket.socket()
        s.connect(("127.0.0.1", port))
        sockets.append(s)
    time.sleep(1.0)
    for s in sockets:
        s.close()
    deadline = time.time() + 60
    while True:
        health = run(shardstream_bin, "health", "--server", server.address, "--timeout-seconds",
                     "2", check=False)
        if health.returncode == 0 or time.time() > deadline:
            break
        time.sleep(0.5)
    assert health.stdout.strip() == "SERVING", health.stderr
    reader = shardstream.Reader(server.address, **PLAN)
    assert len(take(reader, 3)) == 3
    reader.close()
    proc.kill()
    err = proc.communicate(timeout=30)[1]
    assert "Failed accept4" in err and "listening again" in err


def frozen_server(shardstream_bin, catalog, servers):
    server = Server(shardstream_bin, catalog)
    servers.append(server)
    return server


def test_python_next_gives_up_on_a_hung_server_within_its_retry_deadline(
        shardstream_bin, catalog, servers):
    """Finding: with the server SIGSTOPped, next() was still blocked 73 s later despite
    retry_deadline=40. Now the deadline counts from the last progress also while a call is
    open."""
    server = frozen_server(shardstream_bin, catalog, servers)
    reader = shardstream.Reader(server.address, retry_deadline=3, prefetch_batches=1, **PLAN)
    take(reader, 1)
    server.proc.send_signal(signal.SIGSTOP)
    outcome = []

    def drain():
        try:
            for _ in reader:
                pass
        except shardstream.ShardstreamError as e:
            outcome.append(e)

    try:
        t = threading.Thread(target=drain, daemon=True)
        t.start()
        t.join(timeout=90)  # a liveness bound, far above the 3 s deadline
        assert not t.is_alive(), "next() still blocked on a frozen server"
        assert outcome and outcome[0].code in ("UNAVAILABLE", "DEADLINE_EXCEEDED"), outcome
    finally:
        server.proc.send_signal(signal.SIGCONT)
    reader.close()


def test_a_reader_paused_longer_than_its_retry_deadline_continues(shardstream_bin, catalog,
                                                                 servers):
    """The retry deadline counts time waiting for the server, not the caller's pauses (a long
    evaluation between steps)."""
    server = frozen_server(shardstream_bin, catalog, servers)
    plan = dict(tokenizer="gpt2", seq_len=1024, batch_size=8, seed=5)  # 8K tokens a batch
    reader = shardstream.Reader(server.address, retry_deadline=1, prefetch_batches=1, **plan)
    first = take(reader, 2)
    time.sleep(2.5)
    # Beyond what was prefetched (two windows of ~256K tokens): new requests after the pause.
    rest = take(reader, 100)
    want = [b["tokens"] for b in stream_jsonl(
        catalog, "--tokenizer", "gpt2", "--seq-len", "1024", "--batch-size", "8", "--seed", "5",
        "--max-batches", "102")[0]]
    assert [b.tokens.tolist() for b in first + rest] == want
    reader.close()


def test_python_next_raises_keyboard_interrupt_on_a_hung_server(shardstream_bin, catalog,
                                                                servers):
    """Finding: with the server SIGSTOPped, SIGINT did nothing. Now next() raises
    KeyboardInterrupt, and close() returns, while the server stays frozen."""
    server = frozen_server(shardstream_bin, catalog, servers)
    script = (
        "import shardstream, sys\n"
        f"r = shardstream.Reader('{server.address}', tokenizer='gpt2', seq_len=128, "
        "batch_size=4, retry_deadline=600, prefetch_batches=1)\n"
        "next(r)\n"
        "print('first', flush=True)\n"
        "sys.stdin.readline()\n"
        "try:\n"
        "    while True:\n"
        "        next(r)\n"
        "except KeyboardInterrupt:\n"
        "    r.close()\n"
        "    print('interrupted', flush=True)\n"
        "    sys.exit(3)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert proc.stdout.readline() == "first\n"
        server.proc.send_signal(signal.SIGSTOP)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        time.sleep(1.0)  # the prefetched batches are taken; next() now waits on the server
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 3 and out == "interrupted\n"
    finally:
        server.proc.send_signal(signal.SIGCONT)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("overrides,error", [
    (dict(seq_len=True), TypeError),           # a bool is not a sequence length
    (dict(seq_len=8.0), TypeError),
    (dict(batch_size="4"), TypeError),
    (dict(retry_deadline=math.nan), ValueError),  # NaN is not a deadline
    (dict(retry_deadline=math.inf), ValueError),
    (dict(retry_deadline=True), TypeError),
    (dict(tokenizer=None), TypeError),
    (dict(no_dedup=1), TypeError),
    (dict(token_file=3), TypeError),
    (dict(tls_cert="c.pem"), ValueError),      # a certificate needs its key and the CA
])
def test_argument_types_are_checked(overrides, error):
    with pytest.raises(error):
        shardstream.Reader("127.0.0.1:1", **dict(PLAN, **overrides))
