#!/usr/bin/python3
"""Builds a CodeParrot-format sample corpus from the Python files installed on this machine.

Each shard is gzipped JSON lines with the fields of the CodeParrot dataset:
repo_name, path, copies, size, content, license. Files are taken in sorted path order, so the
same machine and arguments give the same corpus. Standard library only.

usage: make_sample_corpus.py OUT_DIR [--max-bytes N] [--shard-bytes N] [--source DIR ...]
"""
import argparse
import glob
import gzip
import json
import os
import sys


def default_sources():
    roots = sorted(glob.glob("/usr/lib/python3.*")) + ["/usr/lib/python3/dist-packages"]
    return [r for r in roots if os.path.isdir(r)]


def debian_license(package_dir):
    """First License: field of the Debian copyright file of python3-<package_dir>, if any."""
    for name in (f"python3-{package_dir}", f"python3-{package_dir.replace('_', '-')}"):
        path = f"/usr/share/doc/{name}/copyright"
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    if line.startswith("License:"):
                        return line.split(":", 1)[1].strip().lower() or "unknown"
        except OSError:
            continue
    return "unknown"


def records(sources, max_bytes):
    total = 0
    licenses = {}
    for root in sources:
        stdlib = "dist-packages" not in root
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            for name in sorted(filenames):
                if not name.endswith(".py"):
                    continue
                full = os.path.join(dirpath, name)
                try:
                    with open(full, "rb") as f:
                        raw = f.read()
                    content = raw.decode("utf-8")
                except (OSError, UnicodeDecodeError):
                    continue
                rel = os.path.relpath(full, root)
                top = rel.split(os.sep, 1)[0]
                if stdlib:
                    repo, license_ = f"python/{os.path.basename(root)}", "psf-2.0"
                else:
                    repo = f"debian/{top.removesuffix('.py')}"
                    if top not in licenses:
                        licenses[top] = debian_license(top.removesuffix(".py"))
                    license_ = licenses[top]
                if total + len(raw) > max_bytes:
                    return
                total += len(raw)
                yield {"repo_name": repo, "path": rel, "copies": "1", "size": str(len(raw)),
                       "content": content, "license": license_}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--max-bytes", type=int, default=40_000_000,
                        help="stop before the corpus text exceeds this many bytes")
    parser.add_argument("--shard-bytes", type=int, default=16_000_000,
                        help="start a new shard after this many bytes of text")
    parser.add_argument("--source", action="append", help="directories to take .py files from")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    shard, shard_bytes, out, docs, total = 0, 0, None, 0, 0
    for record in records(args.source or default_sources(), args.max_bytes):
        if out is None or shard_bytes >= args.shard_bytes:
            if out:
                out.close()
            shard += 1
            shard_bytes = 0
            out = gzip.open(os.path.join(args.out_dir, f"file-{shard:012d}.json.gz"), "wt",
                            encoding="utf-8", compresslevel=6)
        out.write(json.dumps(record) + "\n")
        n = int(record["size"])
        shard_bytes += n
        total += n
        docs += 1
    if out:
        out.close()
    print(f"wrote {docs} documents ({total} bytes of text) in {shard} shards to {args.out_dir}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
