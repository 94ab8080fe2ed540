"""The Python package `shardstream` (pybind11 over the C++ Reader) against a real server.

Expected batches come from the embedded CLI stream (`stream --db`), which
test_tokenize_stream_cli.py checks against documents encoded one by one.
"""
import gc
import json
import threading
import time

import numpy as np
import pytest

import shardstream
from conftest import Server, free_port, stream_jsonl, take

PLAN = dict(tokenizer="gpt2", seq_len=256, batch_size=4, seed=7)
PLAN_FLAGS = ("--tokenizer", "gpt2", "--seq-len", "256", "--batch-size", "4", "--seed", "7")


@pytest.fixture(scope="module")
def expected(catalog):
    """The first 40 batches of PLAN, with document starts."""
    return stream_jsonl(catalog, *PLAN_FLAGS, "--doc-boundaries", "--max-batches", "40")[0]


def assert_batch_equals(batch, want):
    assert batch.tokens.tolist() == want["tokens"]
    assert (batch.epoch, batch.step, batch.rank, batch.cursor) == (
        want["epoch"], want["step"], want["rank"], want["cursor"])


@pytest.mark.parametrize("dtype,numpy_dtype", [(None, "<u2"), ("uint16", "<u2"), ("int32", "<i4")])
def test_batches_equal_the_embedded_stream_in_every_dtype(server, expected, dtype, numpy_dtype):
    reader = shardstream.Reader(server.address, dtype=dtype, doc_boundaries=True, **PLAN)
    batches = take(reader, 10)
    assert len(batches) == 10
    for batch, want in zip(batches, expected):
        assert batch.tokens.dtype == np.dtype(numpy_dtype)
        assert batch.tokens.shape == (4, 256)
        assert_batch_equals(batch, want)
        assert [d.tolist() for d in batch.doc_starts] == want["doc_starts"]
        assert all(d.dtype == np.uint32 for d in batch.doc_starts)
    assert reader.cursor == expected[9]["cursor"]


def test_tokens_view_the_received_message_without_a_copy(server, expected):
    reader = shardstream.Reader(server.address, doc_boundaries=True, **PLAN)
    batch = next(reader)
    tokens, starts = batch.tokens, batch.doc_starts
    # The array's data is the message's own buffer (its address, as the C++ side saw it).
    assert tokens.ctypes.data == batch._buffer_address
    assert not tokens.flags.owndata and tokens.flags.writeable and tokens.flags.c_contiguous
    # The message lives as long as a view does, after the batch and the reader are gone.
    del batch
    reader.close()
    del reader
    gc.collect()
    assert tokens.tolist() == expected[0]["tokens"]
    assert [d.tolist() for d in starts] == expected[0]["doc_starts"]


def test_state_dict_round_trip_resumes_exactly(server, expected):
    reader = shardstream.Reader(server.address, **PLAN)
    take(reader, 3)
    state = json.loads(json.dumps(reader.state_dict()))  # survives serialization
    assert state == {"version": 1, "cursor": expected[2]["cursor"]}
    following = take(reader, 4)
    for batch, want in zip(following, expected[3:7]):
        assert_batch_equals(batch, want)

    # A new reader (a restarted trainer) and the same reader rewound both continue after it.
    fresh = shardstream.Reader(server.address, **PLAN)
    fresh.load_state_dict(state)
    reader.load_state_dict(state)
    for r in (fresh, reader):
        resumed = take(r, 4)
        assert [b.tokens.tolist() for b in resumed] == [b.tokens.tolist() for b in following]
        assert [b.cursor for b in resumed] == [w["cursor"] for w in expected[3:7]]

    with pytest.raises(ValueError, match="not a shardstream state"):
        reader.load_state_dict({"cursor": 3})


def test_resume_after_the_server_is_killed_mid_iteration(shardstream_bin, catalog):
    # 256 KiB batches: the reader holds at most 4 ahead (two windows of two), so the 27 taken
    # after the kill need requests to the killed server. It comes back only once the reader
    # has seen one fail: restarted at once, a reader idle at the kill would find it up again
    # and never fail, and the test would depend on that timing.
    plan = dict(PLAN, seq_len=8192, batch_size=16)
    want, _ = stream_jsonl(catalog, "--tokenizer", "gpt2", "--seq-len", "8192", "--batch-size",
                           "16", "--seed", "7", "--max-batches", "30")
    server = Server(shardstream_bin, catalog)
    try:
        reader = shardstream.Reader(server.address, prefetch_batches=2, retry_deadline=60,
                                    **plan)
        got = take(reader, 3)
        server.kill9()

        def restart_after_a_failed_request():
            for _ in range(600):  # bounded: the reader retries within a second
                if reader.reconnects >= 1:
                    break
                time.sleep(0.1)
            server.start(server.port)

        restarter = threading.Thread(target=restart_after_a_failed_request)
        restarter.start()
        got += take(reader, 27)
        restarter.join()
        assert reader.reconnects >= 1
        assert len(got) == 30
        for batch, w in zip(got, want):
            assert_batch_equals(batch, w)
    finally:
        server.kill9()


def test_a_finite_stream_ends_with_stop_iteration(server, catalog):
    plan = dict(PLAN, seq_len=4096, batch_size=8)
    want, _ = stream_jsonl(catalog, "--tokenizer", "gpt2", "--seq-len", "4096", "--batch-size",
                           "8", "--seed", "7", "--epochs", "2")
    reader = shardstream.Reader(server.address, epochs=2, **plan)
    got = list(reader)
    assert len(got) == len(want) > 0
    assert {b.epoch for b in got} == {0, 1}
    assert got[-1].cursor == want[-1]["cursor"]
    with pytest.raises(StopIteration):
        next(reader)


def test_server_errors_arrive_as_exceptions_with_the_grpc_status(server, catalog):
    def first_batch(**overrides):
        with pytest.raises(shardstream.ShardstreamError) as info:
            next(shardstream.Reader(server.address, **dict(PLAN, **overrides)))
        return info.value

    e = first_batch(tokenizer="no-such-tokenizer")
    assert e.code == "NOT_FOUND" and "no-such-tokenizer" in e.message
    e = first_batch(filter_preset="no-such-preset")
    assert e.code == "INVALID_ARGUMENT" and "no-such-preset" in e.message
    other_plan = stream_jsonl(catalog, *PLAN_FLAGS[:-1], "8", "--max-batches", "1")[0]
    e = first_batch(cursor=other_plan[0]["cursor"])  # seed 8's cursor, seed 7's request
    assert e.code == "FAILED_PRECONDITION" and "seed" in e.message
    assert str(e).startswith("FAILED_PRECONDITION: ")

    closed = f"127.0.0.1:{free_port()}"
    with pytest.raises(shardstream.ShardstreamError) as info:
        next(shardstream.Reader(closed, retry_deadline=0.5, **PLAN))
    assert info.value.code == "UNAVAILABLE" and closed in info.value.message


@pytest.mark.parametrize("overrides,message", [
    (dict(rank=2, world_size=2), "rank"),
    (dict(seq_len=0), "seq_len"),
    (dict(dtype="float32"), "dtype"),
    (dict(retry_deadline=0), "retry_deadline"),
])
def test_bad_arguments_raise_value_error_at_once(server, overrides, message):
    with pytest.raises(ValueError, match=message):
        next(shardstream.Reader(server.address, **dict(PLAN, **overrides)))
    with pytest.raises(ValueError, match="server"):
        shardstream.Reader("", **PLAN)


def test_next_releases_the_gil_while_waiting(shardstream_bin, catalog, expected):
    """A reader waits for a server that is not up yet; only this (main) thread can start it, so
    the batch arrives only if the waiting thread let go of the GIL."""
    port = free_port()
    reader = shardstream.Reader(f"127.0.0.1:{port}", retry_deadline=60, **PLAN)
    waiting, result = threading.Event(), {}

    def consume():
        waiting.set()
        try:
            result["batch"] = next(reader)
        except Exception as e:  # reported below
            result["error"] = e

    thread = threading.Thread(target=consume)
    thread.start()
    assert waiting.wait(30)
    time.sleep(0.5)  # lets the thread get into next(); the outcome does not depend on it
    server = Server(shardstream_bin, catalog, port=port)
    try:
        thread.join(60)
        assert not thread.is_alive() and "error" not in result, result
        assert_batch_equals(result["batch"], expected[0])
    finally:
        server.kill9()


def test_server_info_describes_the_catalog(server):
    info = shardstream.server_info(server.address)
    (gpt2,) = info["tokenizers"]
    assert (gpt2["name"], gpt2["vocab_size"], gpt2["eos_id"], gpt2["ready"]) == (
        "gpt2", 50257, 50256, True)
    assert info["docs"] > 0 and len(info["dataset_version"]) == 32


def test_python_next_raises_keyboard_interrupt_while_waiting():
    """Ctrl-C during next() on servers that do not answer: KeyboardInterrupt at once, not after
    the retry deadline (600 s here; the subprocess gets 60 s)."""
    import os
    import signal
    import subprocess
    import sys
    script = (
        "import shardstream, sys\n"
        f"r = shardstream.Reader('127.0.0.1:{free_port()}', tokenizer='gpt2', seq_len=8, "
        "batch_size=1, retry_deadline=600)\n"
        "try:\n"
        "    print('waiting', flush=True)\n"
        "    next(r)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', flush=True)\n"
        "    r.close()\n"
        "    sys.exit(3)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ))
    try:
        assert proc.stdout.readline() == "waiting\n"
        time.sleep(0.5)  # inside next() by now (an earlier signal is caught the same way)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 3 and out == "interrupted\n"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
