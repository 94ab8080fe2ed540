"""The gRPC shard server and the client Reader, as real processes on loopback.

Expected outputs come from the embedded mode (`stream --db`), whose correctness
test_tokenize_stream_cli.py establishes independently; here remote must equal it byte for byte,
across server crashes, restarts and failovers.
"""
import os
import shutil
import subprocess
import time

from conftest import Server, run, stream_while

REQUEST = ("--tokenizer", "gpt2", "--seq-len", "256", "--batch-size", "4", "--seed", "5",
           "--doc-boundaries")


def embedded(bin_path, db, *args):
    return subprocess.run([bin_path, "stream", "--db", db, *args], capture_output=True,
                          check=True).stdout


def test_remote_equals_embedded_byte_for_byte(shardstream_bin, catalog, servers, tmp_path):
    servers.append(Server(shardstream_bin, catalog))
    address = servers[0].address
    for fmt in ("jsonl", "text"):
        remote = subprocess.run([shardstream_bin, "stream", "--server", address, *REQUEST,
                                 "--max-batches", "40", "--format", fmt], capture_output=True,
                                check=True).stdout
        assert remote == embedded(shardstream_bin, catalog, *REQUEST, "--max-batches", "40",
                                  "--format", fmt)
        assert len(remote) > 1000
    for mode in ("server", "db"):
        target = address if mode == "server" else catalog
        run(shardstream_bin, "stream", f"--{mode}", target, *REQUEST, "--max-batches", "30",
            "--format", "npy", "--out", str(tmp_path / f"{mode}.npy"))
    assert (tmp_path / "server.npy").read_bytes() == (tmp_path / "db.npy").read_bytes()


# Long enough (15,000 batches, 30 MB as npy) that the client cannot have it all buffered when
# the server dies: gRPC's flow-control window and the Reader's prefetch hold a few MB at most.
LONG = 15000


def stream_long_while(address, out_path, during):
    """A remote stream of LONG batches into out_path; during() runs mid-stream."""
    return stream_while(address, out_path, during, (*REQUEST, "--max-batches", str(LONG)), 200_000)


def embedded_npy(bin_path, db, out_path):
    run(bin_path, "stream", "--db", db, *REQUEST, "--max-batches", str(LONG), "--format", "npy",
        "--out", str(out_path))
    return out_path.read_bytes()


def test_kill_9_and_restart_loses_and_repeats_nothing(shardstream_bin, catalog, servers, tmp_path):
    server = Server(shardstream_bin, catalog)
    servers.append(server)

    def crash_and_restart():
        server.kill9()
        time.sleep(0.5)
        server.start(server.port)

    err = stream_long_while(server.address, tmp_path / "out.npy", crash_and_restart)
    assert " 0 reconnects" not in err, err
    assert (tmp_path / "out.npy").read_bytes() == embedded_npy(shardstream_bin, catalog,
                                                               tmp_path / "expected.npy")


def test_two_servers_over_copies_are_interchangeable(shardstream_bin, catalog, servers, tmp_path):
    copy = str(tmp_path / "copy")
    shutil.copytree(catalog, copy)
    first, second = Server(shardstream_bin, catalog), Server(shardstream_bin, copy)
    servers.extend([first, second])
    err = stream_long_while(f"{first.address},{second.address}",
                             tmp_path / "out.npy", first.kill9)
    assert " 0 reconnects" not in err, err
    assert (tmp_path / "out.npy").read_bytes() == embedded_npy(shardstream_bin, catalog,
                                                               tmp_path / "expected.npy")


def test_sigterm_drains_and_exits_0(shardstream_bin, catalog, servers, tmp_path):
    server = Server(shardstream_bin, catalog)
    servers.append(server)
    out = open(tmp_path / "out.jsonl", "wb")
    client = subprocess.Popen([shardstream_bin, "stream", "--server", server.address, *REQUEST,
                               "--format", "jsonl"], stdout=out, stderr=subprocess.DEVNULL)
    while os.path.getsize(tmp_path / "out.jsonl") < 100_000:
        time.sleep(0.01)
    started = time.monotonic()
    assert server.stop() == 0
    assert time.monotonic() - started < 15
    client.kill()
    client.wait()


def test_64_concurrent_streams_complete_with_bounded_memory(shardstream_bin, catalog, servers,
                                                            tmp_path):
    server = Server(shardstream_bin, catalog)
    servers.append(server)
    clients = []
    for rank in range(64):
        clients.append(subprocess.Popen(
            [shardstream_bin, "stream", "--server", server.address, "--tokenizer", "gpt2",
             "--seq-len", "1024", "--batch-size", "2", "--seed", "1", "--world-size", "64",
             "--rank", str(rank), "--max-batches", "60", "--format", "npy", "--out",
             str(tmp_path / f"r{rank}.npy")], stderr=subprocess.PIPE))
    for c in clients:
        _, err = c.communicate(timeout=300)
        assert c.returncode == 0, err
        assert b"streamed 60 batches" in err
    # One shared plan and epoch layout, one batch in flight per stream: far below 300 MiB.
    assert server.rss_kb("VmHWM") < 300 * 1024


def test_a_client_that_stops_reading_does_not_grow_server_memory(shardstream_bin, catalog, servers):
    server = Server(shardstream_bin, catalog)
    servers.append(server)
    # The client writes into a pipe nobody reads: it blocks, stops reading from gRPC, and the
    # server's writes block on flow control.
    client = subprocess.Popen([shardstream_bin, "stream", "--server", server.address, *REQUEST,
                               "--format", "jsonl"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    before = server.rss_kb()
    time.sleep(3)
    after = server.rss_kb()
    client.kill()
    client.wait()
    assert after - before < 16 * 1024, (before, after)


def test_errors_reach_the_client_with_their_meaning(shardstream_bin, catalog, servers):
    servers.append(Server(shardstream_bin, catalog, extra=("--max-streams", "1")))
    address = servers[0].address
    bad = run(shardstream_bin, "stream", "--server", address, "--tokenizer", "nope", check=False)
    assert bad.returncode == 1 and "available: gpt2" in bad.stderr
    other = run(shardstream_bin, "stream", "--server", address, "--tokenizer", "gpt2",
                "--seq-len", "8", "--resume", "ss2.00000000.00000000.00000000.00000000.8.0.0.0",
                "--max-batches", "1", check=False)
    assert other.returncode == 1 and "data version" in other.stderr


def test_the_daemon_raises_its_open_file_limit_to_the_hard_limit(shardstream_bin, catalog):
    """A soft limit of 1024 wedged servers with many connections: the daemon takes the hard one."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = min(256, hard)
    if hard == low:
        raise AssertionError("the hard limit is too low to test this")
    proc = subprocess.Popen([shardstream_bin, "serve", "--db", catalog, "--listen", "127.0.0.1:0"],
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                                                  (low, hard)))
    try:
        assert "listening on" in proc.stderr.readline()
        with open(f"/proc/{proc.pid}/limits") as f:
            line = next(l for l in f if l.startswith("Max open files"))
        assert line.split()[3] == str(hard), line
    finally:
        proc.kill()
        proc.wait()
