"""Who may read from a shard server: TLS, mutual TLS and bearer tokens, end to end.

Certificates are made at test time with the openssl CLI (certs.py); servers listen on
127.0.0.1. The reference for "streams correctly" is the embedded stream (`stream --db`).
"""
import os
import shutil
import subprocess
import time

import pytest

import shardstream
from certs import issue, make_ca
from conftest import Server, free_port, run, stream_jsonl, take

PLAN = dict(tokenizer="gpt2", seq_len=128, batch_size=2, seed=3)
PLAN_FLAGS = ("--tokenizer", "gpt2", "--seq-len", "128", "--batch-size", "2", "--seed", "3")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA with a server certificate for 127.0.0.1 and a client certificate; a second CA
    with its own client ("stranger"); an expired client certificate of the first CA."""
    d = str(tmp_path_factory.mktemp("pki"))
    files = {"ca": make_ca(d, "ca"), "other_ca": make_ca(d, "other")}
    files["server"] = issue(d, "ca", "server", san="IP:127.0.0.1,DNS:localhost")
    files["client"] = issue(d, "ca", "client")
    files["stranger"] = issue(d, "other", "stranger")
    files["expired"] = issue(d, "ca", "expired", start="20200101000000Z", end="20200102000000Z")
    files["dir"] = d
    return files


@pytest.fixture(scope="module")
def expected(catalog):
    return stream_jsonl(catalog, *PLAN_FLAGS, "--max-batches", "6")[0]


def mtls_server(bin_path, catalog, pki, servers, *extra):
    cert, key = pki["server"]
    s = Server(bin_path, catalog, extra=("--tls-cert", cert, "--tls-key", key,
                                         "--tls-client-ca", pki["ca"], *extra))
    servers.append(s)
    return s


def remote_jsonl(bin_path, address, *flags, check=True):
    return run(bin_path, "stream", "--server", address, *PLAN_FLAGS, "--max-batches", "6",
               "--format", "jsonl", "--retry-deadline-seconds", "3", *flags, check=check)


def test_mtls_with_the_right_client_certificate_streams_the_embedded_batches(
        shardstream_bin, catalog, pki, servers, expected):
    server = mtls_server(shardstream_bin, catalog, pki, servers)
    cert, key = pki["client"]
    out = remote_jsonl(shardstream_bin, server.address, "--tls-ca", pki["ca"], "--tls-cert", cert,
                       "--tls-key", key)
    got = [line for line in out.stdout.splitlines()]
    assert len(got) == len(expected) == 6
    import json
    assert [json.loads(line)["tokens"] for line in got] == [b["tokens"] for b in expected]
    # The Python Reader and server_info with the same files.
    reader = shardstream.Reader(server.address, tls_ca=pki["ca"], tls_cert=cert, tls_key=key,
                                **PLAN)
    assert [b.tokens.tolist() for b in take(reader, 6)] == [b["tokens"] for b in expected]
    reader.close()
    info = shardstream.server_info(server.address, tls_ca=pki["ca"], tls_cert=cert, tls_key=key)
    assert info["docs"] > 0


@pytest.mark.parametrize("who", ["no certificate", "another CA's certificate",
                                 "an expired certificate", "plaintext"])
def test_mtls_refuses_clients_without_a_valid_certificate(shardstream_bin, catalog, pki, servers,
                                                          who):
    server = mtls_server(shardstream_bin, catalog, pki, servers)
    flags = {"no certificate": ["--tls-ca", pki["ca"]],
             "another CA's certificate": ["--tls-ca", pki["ca"], "--tls-cert",
                                          pki["stranger"][0], "--tls-key", pki["stranger"][1]],
             "an expired certificate": ["--tls-ca", pki["ca"], "--tls-cert", pki["expired"][0],
                                        "--tls-key", pki["expired"][1]],
             "plaintext": []}[who]
    out = remote_jsonl(shardstream_bin, server.address, *flags, check=False)
    assert out.returncode != 0 and out.stdout == ""
    assert "refuses this client's TLS" in out.stderr, out.stderr
    # The server saw a failed handshake, not a call.
    assert not any("stream opened" in line for line in server.log)


def test_tls_certificates_replaced_on_disk_serve_new_connections_and_keep_old_streams(
        shardstream_bin, catalog, pki, servers, expected, tmp_path):
    """The server's certificate files are replaced by ones of a new CA: new connections get the
    new certificate (clients trusting only the old CA are refused), and a stream opened before
    continues on its connection."""
    d = str(tmp_path)
    cert, key = str(tmp_path / "server.pem"), str(tmp_path / "server.key")
    shutil.copy(pki["server"][0], cert)
    shutil.copy(pki["server"][1], key)
    s = Server(shardstream_bin, catalog, extra=("--tls-cert", cert, "--tls-key", key,
                                                "--tls-reload-seconds", "1"))
    servers.append(s)
    old = shardstream.Reader(s.address, tls_ca=pki["ca"], epochs=0, **PLAN)
    first = take(old, 2)
    new_ca = make_ca(d, "rotated")
    new_cert, new_key = issue(d, "rotated", "server2", san="IP:127.0.0.1")
    # Replaced the way operators (and Kubernetes secret volumes) do: rename over.
    for src, dst in ((new_key, key), (new_cert, cert)):
        shutil.copy(src, dst + ".tmp")
        os.replace(dst + ".tmp", dst)
    deadline = time.time() + 30
    while True:
        out = remote_jsonl(shardstream_bin, s.address, "--tls-ca", new_ca, check=False)
        if out.returncode == 0 or time.time() > deadline:
            break
    assert out.returncode == 0, out.stderr
    refused = remote_jsonl(shardstream_bin, s.address, "--tls-ca", pki["ca"], check=False)
    assert refused.returncode != 0
    rest = take(old, 4)
    assert [b.tokens.tolist() for b in first + rest] == [b["tokens"] for b in expected]
    old.close()


def token_server(bin_path, catalog, servers, token_file, *extra):
    s = Server(bin_path, catalog, extra=("--auth-token-file", token_file, *extra))
    servers.append(s)
    return s


def test_the_right_bearer_token_streams_and_none_or_a_wrong_one_is_unauthenticated(
        shardstream_bin, catalog, servers, expected, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("# trainers\nalpha-123\n\nbeta-456\n")
    server = token_server(shardstream_bin, catalog, servers, str(tokens))
    good = tmp_path / "good"
    good.write_text("beta-456\n")
    out = remote_jsonl(shardstream_bin, server.address, "--token-file", str(good))
    assert len(out.stdout.splitlines()) == 6
    env_run = subprocess.run(
        [shardstream_bin, "stream", "--server", server.address, *PLAN_FLAGS, "--max-batches",
         "2", "--format", "jsonl"], capture_output=True, text=True,
        env=dict(os.environ, SHARDSTREAM_TOKEN="alpha-123"))
    assert env_run.returncode == 0, env_run.stderr
    reader = shardstream.Reader(server.address, token="alpha-123", **PLAN)
    assert [b.tokens.tolist() for b in take(reader, 6)] == [b["tokens"] for b in expected]
    reader.close()

    bad = tmp_path / "bad"
    bad.write_text("alpha-12\n")  # a prefix of a good token
    wrong = remote_jsonl(shardstream_bin, server.address, "--token-file", str(bad), check=False)
    assert wrong.returncode != 0 and "the bearer token was not accepted" in wrong.stderr
    assert "alpha" not in wrong.stderr  # tokens are never echoed
    env = {k: v for k, v in os.environ.items() if k != "SHARDSTREAM_TOKEN"}
    none = subprocess.run([shardstream_bin, "stream", "--server", server.address, *PLAN_FLAGS,
                           "--max-batches", "2", "--retry-deadline-seconds", "3"],
                          capture_output=True, text=True, env=env)
    assert none.returncode != 0 and "requires a bearer token" in none.stderr
    with pytest.raises(shardstream.ShardstreamError) as e:
        next(iter(shardstream.Reader(server.address, token="nope", **PLAN)))
    assert e.value.code == "UNAUTHENTICATED"
    assert not any("alpha-123" in line or "beta-456" in line for line in server.log)


def test_a_rewritten_token_file_refuses_the_old_token_on_the_next_call(
        shardstream_bin, catalog, servers, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("old-token\n")
    server = token_server(shardstream_bin, catalog, servers, str(tokens))
    assert shardstream.server_info(server.address, token="old-token")["docs"] > 0
    tokens.write_text("new-token\n")  # rewritten in place
    with pytest.raises(shardstream.ShardstreamError) as e:
        shardstream.server_info(server.address, token="old-token")
    assert e.value.code == "UNAUTHENTICATED"
    assert shardstream.server_info(server.address, token="new-token")["docs"] > 0
    replacement = tmp_path / "tokens.new"
    replacement.write_text("newer-token\n")
    os.replace(replacement, tokens)  # replaced by rename
    with pytest.raises(shardstream.ShardstreamError):
        shardstream.server_info(server.address, token="new-token")
    assert shardstream.server_info(server.address, token="newer-token")["docs"] > 0


def test_tokens_with_tls_and_a_token_file_on_the_client_side(shardstream_bin, catalog, pki,
                                                             servers, tmp_path, expected):
    """Tokens off loopback need TLS: the server refuses plaintext tokens on a non-loopback
    address, the client refuses to send one there; with TLS both work."""
    tokens = tmp_path / "tokens"
    tokens.write_text("tls-token\n")
    refused = run(shardstream_bin, "serve", "--db", catalog, "--listen", "0.0.0.0:0",
                  "--auth-token-file", str(tokens), check=False)
    assert refused.returncode == 2 and "needs TLS" in refused.stderr
    with pytest.raises(shardstream.ShardstreamError) as e:
        shardstream.Reader("192.0.2.1:7711", token="x", **PLAN).__next__()
    assert e.value.code == "INVALID_ARGUMENT" and "only over TLS" in e.value.message
    cert, key = pki["server"]
    server = token_server(shardstream_bin, catalog, servers, str(tokens), "--tls-cert", cert,
                          "--tls-key", key)
    token_file = tmp_path / "mine"
    token_file.write_text("tls-token\n")
    out = remote_jsonl(shardstream_bin, server.address, "--tls-ca", pki["ca"], "--token-file",
                       str(token_file))
    assert len(out.stdout.splitlines()) == 6
    no_token = remote_jsonl(shardstream_bin, server.address, "--tls-ca", pki["ca"], check=False)
    assert no_token.returncode != 0 and "requires a bearer token" in no_token.stderr


def test_the_probe_port_answers_health_in_plaintext_without_credentials(
        shardstream_bin, catalog, pki, servers, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("t\n")
    probe = free_port()
    cert, key = pki["server"]
    server = mtls_server(shardstream_bin, catalog, pki, servers, "--auth-token-file", str(tokens),
                         "--health-listen", f"127.0.0.1:{probe}")
    out = run(shardstream_bin, "health", "--server", f"127.0.0.1:{probe}")
    assert out.stdout.strip() == "SERVING"
    # The main port asks for everything: certificate and token.
    denied = run(shardstream_bin, "health", "--server", server.address, "--timeout-seconds", "2",
                 check=False)
    assert denied.returncode != 0
    ccert, ckey = pki["client"]
    token_file = tmp_path / "mine"
    token_file.write_text("t\n")
    full = run(shardstream_bin, "health", "--server", server.address, "--tls-ca", pki["ca"],
               "--tls-cert", ccert, "--tls-key", ckey, "--token-file", str(token_file))
    assert full.stdout.strip() == "SERVING"
    # The probe port serves nothing else.
    with pytest.raises(shardstream.ShardstreamError) as e:
        shardstream.server_info(f"127.0.0.1:{probe}", timeout=5)
    assert e.value.code == "UNIMPLEMENTED"


def test_tls_server_name_checks_the_certificate_for_another_name_than_the_address(
        shardstream_bin, catalog, pki, servers, tmp_path, expected):
    """A certificate issued for a Service name only: dialing the IP needs tls_server_name."""
    d = str(tmp_path)
    ca = make_ca(d, "svc-ca")
    cert, key = issue(d, "svc-ca", "svc", san="DNS:shardstream-headless")
    s = Server(shardstream_bin, catalog, extra=("--tls-cert", cert, "--tls-key", key))
    servers.append(s)
    refused = remote_jsonl(shardstream_bin, s.address, "--tls-ca", ca, check=False)
    assert refused.returncode != 0
    out = remote_jsonl(shardstream_bin, s.address, "--tls-ca", ca, "--tls-server-name",
                       "shardstream-headless")
    assert len(out.stdout.splitlines()) == 6


def test_the_pytorch_dataset_streams_with_tls_and_a_token(shardstream_bin, catalog, pki, servers,
                                                          tmp_path, expected):
    import torch
    from shardstream.torch import StreamingDataset
    tokens = tmp_path / "tokens"
    tokens.write_text("torch-token\n")
    cert, key = pki["server"]
    server = token_server(shardstream_bin, catalog, servers, str(tokens), "--tls-cert", cert,
                          "--tls-key", key)
    dataset = StreamingDataset(server.address, tls_ca=pki["ca"], token="torch-token", **PLAN)
    got = [t.tolist() for t in take(iter(dataset), 6)]
    assert got == [b["tokens"] for b in expected]
    assert isinstance(next(iter(dataset)), torch.Tensor)
