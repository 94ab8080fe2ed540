"""A small, strict subset of `kustomize build`, for testing deploy/k8s offline (no kubectl
here): `resources` (files or kustomization directories) and `patches` given by `path`
(strategic-merge patches matched by kind and name). Anything else in a kustomization.yaml is
refused, so the manifests cannot use a feature this renderer would silently ignore.

Strategic merge follows the Kubernetes API's merge keys for the lists the manifests patch
(containers, env, volumes by name; volumeMounts by mountPath; ports by containerPort); every
other list is replaced, as kustomize does.
"""
import copy
import os

import yaml

MERGE_KEYS = {"containers": "name", "initContainers": "name", "env": "name", "volumes": "name",
              "volumeMounts": "mountPath", "ports": "containerPort"}
KNOWN = {"apiVersion", "kind", "resources", "patches"}


def merge(base, patch, key=None):
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            out[k] = merge(base[k], v, k) if k in base else copy.deepcopy(v)
        return out
    if isinstance(base, list) and isinstance(patch, list) and key in MERGE_KEYS:
        field = MERGE_KEYS[key]
        out = [copy.deepcopy(b) for b in base]
        for item in patch:
            match = [i for i, b in enumerate(out) if b.get(field) == item.get(field)]
            if match:
                out[match[0]] = merge(out[match[0]], item)
            else:
                out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def build(directory):
    """The documents `kustomize build DIRECTORY` would print (for the supported subset)."""
    (k,) = load_all(os.path.join(directory, "kustomization.yaml"))
    unknown = set(k) - KNOWN
    if unknown:
        raise ValueError(f"{directory}: unsupported kustomization fields {sorted(unknown)}")
    docs = []
    for resource in k.get("resources", []):
        path = os.path.join(directory, resource)
        docs += build(path) if os.path.isdir(path) else load_all(path)
    for patch in k.get("patches", []):
        if set(patch) != {"path"}:
            raise ValueError(f"{directory}: only patches with a path are supported: {patch}")
        (p,) = load_all(os.path.join(directory, patch["path"]))
        targets = [i for i, d in enumerate(docs)
                   if d["kind"] == p["kind"] and d["metadata"]["name"] == p["metadata"]["name"]]
        if len(targets) != 1:
            raise ValueError(f"{directory}: patch {patch['path']} matches {len(targets)} resources")
        docs[targets[0]] = merge(docs[targets[0]], p)
    return docs
