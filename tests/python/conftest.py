"""Fixtures for the end-to-end tests of the `shardstream` CLI.

The binary comes from $SHARDSTREAM_BIN (ctest sets it). Expected values in these tests are
computed by `reference_reader.py`, an independent reader written with Python's own gzip/json.
"""
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


@pytest.fixture(scope="session")
def shardstream_bin():
    path = os.environ.get("SHARDSTREAM_BIN")
    assert path and os.access(path, os.X_OK), (
        "SHARDSTREAM_BIN must name the built shardstream binary (run through ctest)")
    return path


@pytest.fixture(scope="session")
def source_dir():
    return os.environ.get("SHARDSTREAM_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))


@pytest.fixture(scope="session")
def machine_corpus(tmp_path_factory, source_dir):
    """A CodeParrot-format corpus made from this machine's Python files (as the demo does)."""
    out = tmp_path_factory.mktemp("machine-corpus")
    subprocess.run([sys.executable, os.path.join(source_dir, "tools", "make_sample_corpus.py"),
                    str(out), "--max-bytes", "12000000", "--shard-bytes", "3000000"],
                   check=True)
    return str(out)


def run(bin_path, *args, check=True):
    """Runs the CLI; returns CompletedProcess with text stdout/stderr."""
    proc = subprocess.run([bin_path, *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} exited {proc.returncode}:\n{proc.stderr}")
    return proc
