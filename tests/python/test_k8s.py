"""The Kubernetes manifests (deploy/k8s): every file and every rendered overlay validates
against the Kubernetes 1.32 strict JSON schemas (tests/data/k8s-schemas, from
../shared/k8s-schemas), the pieces fit together where no schema looks, and the pods' command
really runs: the StatefulSet's args, with its environment, start a server that prepares its
partitions and serves them.
"""
import glob
import gzip
import json
import os
import re
import shutil
import signal
import subprocess

import jsonschema
import pytest

import kustomize
from certs import issue, make_ca
from conftest import DATA, GPT2

K8S = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                   "deploy", "k8s")
OVERLAYS = ["base", "overlays/dev", "overlays/prod"]


def schema_for(doc):
    group_version = doc["apiVersion"].split("/")
    group = "" if len(group_version) == 1 else "-" + group_version[0].split(".")[0]
    name = f"{doc['kind'].lower()}{group}-{group_version[-1]}.json.gz"
    with gzip.open(os.path.join(DATA, "k8s-schemas", name)) as f:
        return json.load(f)


def errors(doc):
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
            for e in jsonschema.Draft7Validator(schema_for(doc)).iter_errors(doc)]


def rendered(overlay):
    return kustomize.build(os.path.join(K8S, overlay))


def by_kind(docs, kind):
    found = [d for d in docs if d["kind"] == kind]
    assert found, kind
    return found


def test_every_manifest_file_validates():
    files = [f for f in glob.glob(os.path.join(K8S, "base", "*.yaml")) +
             glob.glob(os.path.join(K8S, "examples", "*.yaml"))
             if not f.endswith("kustomization.yaml")]
    assert len(files) >= 8
    for path in files:
        for doc in kustomize.load_all(path):
            assert errors(doc) == [], path


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_overlay_validates(overlay):
    docs = rendered(overlay)
    assert {d["kind"] for d in docs} == {"ConfigMap", "StatefulSet", "Service",
                                         "PodDisruptionBudget", "NetworkPolicy"}
    for doc in docs:
        assert errors(doc) == [], (overlay, doc["kind"])


def test_a_misspelled_or_mistyped_field_fails():
    (sts,) = by_kind(rendered("overlays/prod"), "StatefulSet")
    container = sts["spec"]["template"]["spec"]["containers"][0]
    container["redinessProbe"] = container.pop("readinessProbe")
    assert any("redinessProbe" in e for e in errors(sts))
    (sts,) = by_kind(rendered("overlays/prod"), "StatefulSet")
    sts["spec"]["replicas"] = "four"
    assert errors(sts)


def expand(arg, env):
    """$(VAR) references in a container's args, expanded as the kubelet does."""
    return re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], arg)


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_pieces_fit_together(overlay):
    docs = rendered(overlay)
    (sts,) = by_kind(docs, "StatefulSet")
    (config,) = by_kind(docs, "ConfigMap")
    pod = sts["spec"]["template"]
    labels = pod["metadata"]["labels"]
    (container,) = pod["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert matches(sts["spec"]["selector"]["matchLabels"], labels)
    # Services: the headless one is the StatefulSet's, both select the pods, ports exist.
    services = {s["metadata"]["name"]: s for s in by_kind(docs, "Service")}
    headless = services[sts["spec"]["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None"
    for s in services.values():
        assert matches(s["spec"]["selector"], labels)
        for p in s["spec"]["ports"]:
            assert p["targetPort"] in ports or p["targetPort"] in ports.values()
    # Probes on the plaintext health port the server opens (probes cannot do TLS or tokens);
    # readiness and liveness after a long startup.
    args = container["args"]
    assert args[args.index("--health-listen") + 1] == f"0.0.0.0:{ports['health']}"
    assert args[args.index("--listen") + 1] == f"0.0.0.0:{ports['grpc']}"
    assert args[args.index("--metrics-listen") + 1] == f"0.0.0.0:{ports['metrics']}"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"]["port"] == ports["health"], probe
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 3600
    # The disruption budget and the network policy select the pods and their port.
    (pdb,) = by_kind(docs, "PodDisruptionBudget")
    assert matches(pdb["spec"]["selector"]["matchLabels"], labels)
    (policy,) = by_kind(docs, "NetworkPolicy")
    assert matches(policy["spec"]["podSelector"]["matchLabels"], labels)
    # Trainers reach the gRPC port, the monitoring namespace the metrics port; nothing else.
    ingress = {p["port"]: rule["from"] for rule in policy["spec"]["ingress"] for p in rule["ports"]}
    assert set(ingress) == {ports["grpc"], ports["metrics"]}
    assert ingress[ports["grpc"]][0]["podSelector"]["matchLabels"] == {"shardstream.io/trainer": "true"}
    # Pod i of N holds p mod N == i: N in the ConfigMap must be the replica count.
    assert int(config["data"]["SHARDSTREAM_REPLICAS"]) == sts["spec"]["replicas"]
    assert container["envFrom"][0]["configMapRef"]["name"] == config["metadata"]["name"]
    # Every $(VAR) of the args is defined; the grace period outlasts the server's drain.
    env = set(config["data"]) | {e["name"] for e in container["env"]}
    for arg in container["args"]:
        for var in re.findall(r"\$\((\w+)\)", arg):
            assert var in env, var
    assert pod["spec"]["terminationGracePeriodSeconds"] > int(args[args.index("--grace-seconds") + 1])
    # Locked down.
    sc, psc = container["securityContext"], pod["spec"]["securityContext"]
    assert psc["runAsNonRoot"] and psc["seccompProfile"]["type"] == "RuntimeDefault"
    assert sc["readOnlyRootFilesystem"] and sc["capabilities"]["drop"] == ["ALL"]
    assert not sc["allowPrivilegeEscalation"] and not pod["spec"]["automountServiceAccountToken"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert "/tmp" in mounts and "/var/lib/shardstream" in mounts
    assert args[args.index("--db") + 1].startswith("/var/lib/shardstream/")
    if overlay == "overlays/prod":
        assert sts["spec"]["replicas"] == 4
        # Mutual TLS and tokens, from Secret volumes mounted where the ConfigMap points.
        secrets = {v["name"]: v["secret"]["secretName"] for v in pod["spec"]["volumes"]
                   if "secret" in v}
        mounted = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        for key in ("SHARDSTREAM_TLS_CERT", "SHARDSTREAM_TLS_KEY", "SHARDSTREAM_TLS_CLIENT_CA",
                    "SHARDSTREAM_AUTH_TOKEN_FILE"):
            path = config["data"][key]
            assert any(path.startswith(mounted[v] + "/") for v in secrets), (key, path)
        anti = pod["spec"]["affinity"]["podAntiAffinity"]
        term = anti["requiredDuringSchedulingIgnoredDuringExecution"][0]
        assert matches(term["labelSelector"]["matchLabels"], labels)


def test_the_example_data_claim_is_the_one_the_pods_mount():
    (sts,) = by_kind(rendered("base"), "StatefulSet")
    claims = {v["persistentVolumeClaim"]["claimName"] for v in sts["spec"]["template"]["spec"]
              ["volumes"] if "persistentVolumeClaim" in v}
    (pvc,) = kustomize.load_all(os.path.join(K8S, "examples", "data-pvc.yaml"))
    assert claims == {pvc["metadata"]["name"]} and pvc["spec"]["accessModes"] == ["ReadOnlyMany"]


def test_the_trainer_job_reaches_the_servers_with_one_address():
    docs = rendered("base")
    (policy,) = by_kind(docs, "NetworkPolicy")
    (job,) = kustomize.load_all(os.path.join(K8S, "examples", "trainer-job.yaml"))
    pod = job["spec"]["template"]
    assert matches(policy["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"],
                   pod["metadata"]["labels"])
    command = pod["spec"]["containers"][0]["command"]
    server = command[command.index("--server") + 1]
    headless = [s for s in by_kind(docs, "Service") if s["spec"].get("clusterIP") == "None"][0]
    assert server == f"{headless['metadata']['name']}:{headless['spec']['ports'][0]['port']}"
    env = {e["name"] for e in pod["spec"]["containers"][0]["env"]}
    assert {"RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"} <= env


def test_the_pod_command_runs_and_serves_its_partitions(shardstream_bin, machine_corpus, tmp_path):
    """The prod StatefulSet's container args and environment, as pod shardstream-1 of 4, with
    the volumes mapped to temporary directories and the listen address to loopback."""
    import shardstream
    docs = rendered("overlays/prod")
    (sts,) = by_kind(docs, "StatefulSet")
    (config,) = by_kind(docs, "ConfigMap")
    (container,) = sts["spec"]["template"]["spec"]["containers"]
    data = tmp_path / "data"
    shutil.copytree(machine_corpus, data / "corpus")
    os.makedirs(data / "tokenizers" / "gpt2")
    shutil.copy(GPT2, data / "tokenizers" / "gpt2" / "tokenizer.json")
    env = dict(config["data"], POD_NAME="shardstream-1")
    # The Secrets: a CA, the server's certificate (for 127.0.0.1 here), a trainer's client
    # certificate and a token, where the volumes would mount them.
    secrets = tmp_path / "secrets"
    (secrets / "tls").mkdir(parents=True)
    (secrets / "tokens").mkdir()
    pki = str(tmp_path / "pki")
    os.makedirs(pki)
    ca = make_ca(pki, "ca")
    cert, key = issue(pki, "ca", "server", san="IP:127.0.0.1")
    client_cert, client_key = issue(pki, "ca", "trainer")
    for src, name in ((cert, "tls.crt"), (key, "tls.key"), (ca, "ca.crt")):
        shutil.copy(src, secrets / "tls" / name)
    (secrets / "tokens" / "tokens").write_text("pod-test-token\n")

    def local(arg):
        arg = expand(arg, env)
        arg = arg.replace("/var/lib/shardstream", str(tmp_path / "volume"))
        arg = arg.replace("/etc/shardstream", str(secrets))
        arg = arg.replace("/data", str(data))
        return "127.0.0.1:0" if arg.startswith("0.0.0.0:") else arg

    args = [local(a) for a in container["args"]]
    assert args[0] == "serve"
    proc = subprocess.Popen([shardstream_bin, *args], stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, **env))
    try:
        line = proc.stderr.readline()
        assert "listening on 127.0.0.1:" in line and "NOT_SERVING" in line, line
        address = "127.0.0.1:" + line.split("listening on 127.0.0.1:")[1].split()[0]
        log = [line]
        while "serving" not in line:
            line = proc.stderr.readline()
            assert line, "the server exited while preparing"
            log.append(line)
        json.loads(line)  # --log-format json: one object per line
        (probes,) = [l for l in log if "health probes on 127.0.0.1:" in l]
        health_port = probes.split("health probes on 127.0.0.1:")[1].split()[0]
        assert subprocess.run([shardstream_bin, "health", "--server", f"127.0.0.1:{health_port}"],
                              capture_output=True, text=True).stdout == "SERVING\n"
        info = shardstream.server_info(address, 10, tls_ca=ca, tls_cert=client_cert,
                                       tls_key=client_key, token="pod-test-token")
        assert info["partitions"] == 48
        assert info["held_partitions"] == list(range(1, 48, 4))
        assert info["tokenizers"][0]["name"] == "gpt2" and info["tokenizers"][0]["ready"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=sts["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
