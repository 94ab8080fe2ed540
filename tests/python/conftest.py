"""Fixtures for the end-to-end tests of the `shardstream` CLI.

The binary comes from $SHARDSTREAM_BIN (ctest sets it). Expected values in these tests are
computed by `reference_reader.py`, an independent reader written with Python's own gzip/json.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(HERE), "data")
GPT2 = os.path.join(DATA, "gpt2", "tokenizer.json")
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


def patch_tokenizer(tokenizer, patch):
    """A reference variant's tokenizer.json: top-level keys replaced, "model" keys updated (the
    rule of tools/reference/*_references.js)."""
    for key, value in patch.items():
        if key == "model":
            tokenizer["model"].update(value)
        else:
            tokenizer[key] = value
    return tokenizer


def run(bin_path, *args, check=True):
    """Runs the CLI; returns CompletedProcess with text stdout/stderr."""
    proc = subprocess.run([bin_path, *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} exited {proc.returncode}:\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def catalog(tmp_path_factory, machine_corpus):
    """The machine corpus indexed and tokenized with GPT-2 (tokenizer name "gpt2")."""
    db = str(tmp_path_factory.mktemp("serve") / "db")
    run(os.environ["SHARDSTREAM_BIN"], "index", "--db", db, "--corpus", machine_corpus)
    run(os.environ["SHARDSTREAM_BIN"], "tokenize", "--db", db, "--tokenizer", GPT2, "--jobs", "2")
    return db


class Server:
    """`shardstream serve` on 127.0.0.1 (port 0 first; the same port again on restart)."""

    def __init__(self, bin_path, db, port=0, extra=()):
        self.bin, self.db, self.extra = bin_path, db, extra
        self.start(port)

    def start(self, port):
        self.proc = subprocess.Popen([self.bin, "serve", "--db", self.db, "--listen",
                                      f"127.0.0.1:{port}", *self.extra],
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        assert "listening on 127.0.0.1:" in line, line
        self.port = int(line.split("listening on 127.0.0.1:")[1].split()[0])
        self.address = f"127.0.0.1:{self.port}"
        # The rest of the log is drained (a full pipe would block the server) and kept.
        self.log = [line]
        self._drain = threading.Thread(target=self._read_log, args=(self.proc, self.log),
                                       daemon=True)
        self._drain.start()

    @staticmethod
    def _read_log(proc, log):
        for line in proc.stderr:
            log.append(line)

    def wait_for_log(self, text, timeout=30):
        """The first log line containing `text`, waiting up to `timeout` seconds for it."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in list(self.log):
                if text in line:
                    return line
            assert self.proc.poll() is None or any(text in l for l in self.log), "".join(self.log)
            time.sleep(0.02)
        raise AssertionError(f"no log line with {text!r} in {timeout} s:\n" + "".join(self.log))

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def rss_kb(self, field="VmRSS"):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(timeout=30)
        return self.proc.returncode


@pytest.fixture
def servers():
    started = []
    yield started
    for s in started:
        if s.proc.poll() is None:
            s.kill9()


def stream_jsonl(db, *args):
    """(batches as dicts, stderr) of `shardstream stream --db DB --format jsonl ARGS`. The
    embedded stream is the reference of the client tests: test_tokenize_stream_cli.py checks it
    against documents encoded one by one."""
    out = run(os.environ["SHARDSTREAM_BIN"], "stream", "--db", db, "--format", "jsonl", *args)
    return [json.loads(line) for line in out.stdout.splitlines()], out.stderr


def stream_while(servers, out_path, during, args, midway_bytes):
    """Runs `shardstream stream --server SERVERS ARGS --format npy --out OUT_PATH`, calls
    during() once the client has written `midway_bytes` (mid-stream), waits for the client to
    finish successfully and returns its stderr."""
    client = subprocess.Popen([os.environ["SHARDSTREAM_BIN"], "stream", "--server", servers,
                               *args, "--format", "npy", "--out", str(out_path)],
                              stderr=subprocess.PIPE)
    while not os.path.exists(out_path) or os.path.getsize(out_path) < midway_bytes:
        assert client.poll() is None, client.stderr.read()
        time.sleep(0.002)
    during()
    _, err = client.communicate(timeout=300)
    assert client.returncode == 0, err
    return err.decode()


def free_port():
    """A loopback port nothing listens on (now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(shardstream_bin, catalog):
    """`shardstream serve` over `catalog`, for one test module."""
    s = Server(shardstream_bin, catalog)
    yield s
    s.kill9()


def take(iterable, n):
    """The first n items of an iterable (fewer if it ends)."""
    return [item for _, item in zip(range(n), iterable)]


def peak_rss_mib(cmd):
    """Peak resident memory of `cmd` (a fresh python process runs it, so no other child counts)."""
    probe = ("import resource, subprocess, sys\n"
             "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
             "assert p.returncode == 0\n"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return int(out.stdout) / 1024
