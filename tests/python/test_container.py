"""The container image, for real: built from deploy/Dockerfile by deploy/image.sh (base made
here with mmdebstrap, runtime packages as .deb files: the build itself runs offline), then
three containers run with the StatefulSet's command and environment (pods 0-2 of 3, catalogs
on volumes, the data volume read-only, read-only root filesystem, no capabilities) on
loopback ports of the host network. A client on the host streams from them exactly what the
embedded single-catalog stream gives; `podman stop` (SIGTERM) drains and exits 0.
"""
import gzip
import json
import os
import shutil
import subprocess
import time

import pytest

import test_k8s
from conftest import GPT2, free_port, run, stream_jsonl

IMAGE = "shardstream:0.2.0"


@pytest.fixture(scope="module")
def podman(source_dir, tmp_path_factory):
    # image.sh writes its own containers.conf (runc, ulimits) when none is given; the
    # containers below run with the same one.
    build_env = {k: v for k, v in os.environ.items() if k != "CONTAINERS_CONF"}
    out = subprocess.run(["bash", os.path.join(source_dir, "deploy", "image.sh"), "--local-base",
                          "--offline", "--tag", IMAGE], capture_output=True, text=True,
                         cwd=source_dir, env=build_env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "image shardstream:0.2.0:" in out.stdout
    env = dict(build_env, CONTAINERS_CONF=os.path.join(source_dir, "build", "image",
                                                       "containers.conf"))

    def podman_run(*args, check=True):
        proc = subprocess.run(["podman", *args], capture_output=True, text=True, env=env)
        if check:
            assert proc.returncode == 0, (args, proc.stderr)
        return proc
    return podman_run


def test_three_pods_in_containers_serve_the_dataset(podman, shardstream_bin, machine_corpus,
                                                    tmp_path):
    docs = test_k8s.rendered("base")
    (sts,) = test_k8s.by_kind(docs, "StatefulSet")
    (config,) = test_k8s.by_kind(docs, "ConfigMap")
    (container,) = sts["spec"]["template"]["spec"]["containers"]
    data = tmp_path / "data"
    # The machine corpus re-cut into 24 files, so each pod holds several (P = 48).
    lines = []
    for name in sorted(os.listdir(machine_corpus)):
        with gzip.open(os.path.join(machine_corpus, name), "rt") as f:
            lines += f.readlines()
    os.makedirs(data / "corpus")
    for i in range(24):
        with gzip.open(data / "corpus" / f"shard-{i:02d}.jsonl.gz", "wt") as f:
            f.writelines(lines[i::24])
    os.makedirs(data / "tokenizers" / "gpt2")
    shutil.copy(GPT2, data / "tokenizers" / "gpt2" / "tokenizer.json")
    env = dict(config["data"], SHARDSTREAM_REPLICAS="3")
    names, addresses, probes = [], [], []
    try:
        for i in range(3):
            volume = tmp_path / f"catalog-{i}"
            os.makedirs(volume)
            os.chown(volume, 10001, 10001)  # the image's user owns its volume, as fsGroup does
            # Each pod's listen addresses (gRPC, probes, metrics) on its own loopback address,
            # as the pods' own IPs would be: the containers share the host's network here.
            ip = f"127.0.0.{i + 2}"
            local = {f"0.0.0.0:{p['containerPort']}": f"{ip}:{free_port()}"
                     for p in container["ports"]}
            address = local["0.0.0.0:7711"]
            probes.append(local["0.0.0.0:7712"])
            pod_env = dict(env, POD_NAME=f"shardstream-{i}")
            args = [local.get(a, a) for a in
                    (test_k8s.expand(a, pod_env) for a in container["args"])]
            name = f"shardstream-test-{os.getpid()}-{i}"
            podman("run", "-d", "--name", name, "--network", "host", "--read-only",
                   "--tmpfs", "/tmp", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                   "-v", f"{volume}:/var/lib/shardstream", "-v", f"{data}:/data:ro",
                   *[x for k, v in pod_env.items() for x in ("-e", f"{k}={v}")], IMAGE, *args)
            names.append(name)
            addresses.append(address)
        # The reference: the same corpus in one catalog on the host, with the same P.
        reference = str(tmp_path / "reference")
        run(shardstream_bin, "index", "--db", reference, "--corpus", str(data / "corpus"),
            "--partitions", env["SHARDSTREAM_PARTITIONS"])
        run(shardstream_bin, "tokenize", "--db", reference, "--tokenizer", GPT2,
            "--name", env["SHARDSTREAM_TOKENIZER_NAME"])
        args = ("--tokenizer", "gpt2", "--seq-len", "256", "--batch-size", "4", "--seed", "2",
                "--max-batches", "50", "--doc-boundaries")
        want, _ = stream_jsonl(reference, *args)
        # The client may come while the pods still prepare: it retries until they serve.
        got = run(shardstream_bin, "stream", "--server", ",".join(addresses), "--format",
                  "jsonl", *args)
        assert [json.loads(l) for l in got.stdout.splitlines()] == want
        for probe in probes:  # what the kubelet's gRPC probes ask
            assert run(shardstream_bin, "health", "--server", probe).stdout == "SERVING\n"
        for i, name in enumerate(names):
            logs = podman("logs", name).stderr
            assert "NOT_SERVING" in logs and "serving" in logs, logs
            assert f"partitions {i}" in logs.split("serving", 1)[1], logs
            start = time.monotonic()
            podman("stop", "-t", str(sts["spec"]["template"]["spec"]
                                     ["terminationGracePeriodSeconds"]), name)
            assert time.monotonic() - start < 30
            state = podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
            assert state == "0", podman("logs", name).stderr
    finally:
        for name in names:
            podman("rm", "-f", name, check=False)
