"""examples/train_tiny_gpt.py, as users run it: two gloo ranks on CPU training a tiny GPT from a
real server, over a tokenizer trained on the corpus by `shardstream train-tokenizer` (a 2k
vocabulary keeps CPU steps short)."""
import json
import os
import subprocess
import sys

import pytest

from conftest import Server, run

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "examples", "train_tiny_gpt.py")
STEPS = 40


@pytest.fixture(scope="module")
def server(shardstream_bin, machine_corpus, tmp_path_factory):
    work = tmp_path_factory.mktemp("tiny-gpt")
    db, tokenizer = str(work / "db"), str(work / "code2k.json")
    run(shardstream_bin, "index", "--db", db, "--corpus", machine_corpus)
    run(shardstream_bin, "train-tokenizer", "--db", db, "--vocab-size", "2048", "--out", tokenizer)
    run(shardstream_bin, "tokenize", "--db", db, "--tokenizer", tokenizer, "--name", "code2k")
    s = Server(shardstream_bin, db)
    yield s
    s.kill9()


def train(server, log, *args):
    proc = subprocess.run(
        [sys.executable, EXAMPLE, "--server", server.address, "--tokenizer", "code2k",
         "--nproc", "2", "--steps", str(STEPS), "--log", log, *args],
        capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def read_log(path):
    """(training steps, evaluations) of one rank's log."""
    with open(path) as f:
        records = [json.loads(line) for line in f]
    return ([r for r in records if "loss" in r], [r for r in records if "eval_loss" in r])


@pytest.fixture(scope="module")
def uninterrupted(server, tmp_path_factory):
    log = str(tmp_path_factory.mktemp("uninterrupted") / "log")
    train(server, log)
    return [read_log(f"{log}.rank{r}") for r in range(2)]


def test_ranks_train_in_lockstep_on_disjoint_rows(uninterrupted):
    (steps0, _), (steps1, _) = uninterrupted
    assert [s["step"] for s in steps0] == [s["step"] for s in steps1] == list(range(1, STEPS + 1))
    for a, b in zip(steps0, steps1):
        assert (a["epoch"], a["stream_step"], a["cursor"], a["loss"]) == (
            b["epoch"], b["stream_step"], b["cursor"], b["loss"])
        assert not set(a["rows_sha1"]) & set(b["rows_sha1"])


def test_loss_falls(uninterrupted):
    steps, evals = uninterrupted[0]
    first = sum(s["loss"] for s in steps[:3]) / 3
    last = sum(s["loss"] for s in steps[-10:]) / 10
    assert last < first, (first, last)
    # The same held-out batches before and after training: a paired comparison, free of the
    # batch-to-batch noise of the training loss.
    assert [e["step"] for e in evals] == [0, STEPS]
    assert evals[1]["eval_loss"] < 0.9 * evals[0]["eval_loss"], evals


def test_resumed_run_sees_exactly_the_batches_of_the_uninterrupted_run(server, uninterrupted,
                                                                       tmp_path):
    log, checkpoint = str(tmp_path / "log"), str(tmp_path / "checkpoint.pt")
    half = STEPS // 2
    out = train(server, log, "--checkpoint", checkpoint, "--checkpoint-every", str(half),
                "--stop-after", str(half))
    assert f"stopping after step {half}" in out
    out = train(server, log, "--checkpoint", checkpoint, "--resume")
    assert f"from step {half}" in out
    for rank in range(2):
        steps, _ = read_log(f"{log}.rank{rank}")
        want, _ = uninterrupted[rank]
        assert [s["step"] for s in steps] == list(range(1, STEPS + 1))
        # Bit-identical batches, and (model and optimizer restored too) identical losses.
        assert [s["tokens_sha1"] for s in steps] == [s["tokens_sha1"] for s in want]
        assert [s["cursor"] for s in steps] == [s["cursor"] for s in want]
        assert [s["loss"] for s in steps] == [s["loss"] for s in want]
