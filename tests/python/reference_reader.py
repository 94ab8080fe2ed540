"""An independent reader of JSON-lines corpora, written only with Python's standard library
(gzip/zlib, json, hashlib) and the `zstd` command-line tool. The tests compare the CLI's catalog
and stats with what this reader finds; it shares no code with shardstream.

It implements the documented rules (docs/index.md, docs/quality.md):
  * lines end at b"\\n"; an unterminated last line counts only when the file decodes cleanly;
  * whitespace-only lines are skipped; other lines are classified as invalid_utf8 (bytes or a
    string value that is not UTF-8), invalid_json (syntax, or not an object), missing_field,
    field_not_string, or a good document.
"""
import hashlib
import json
import os
import subprocess
import zlib

ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def decode_file(path):
    """Returns (decoded bytes, damaged) for a corpus file."""
    with open(path, "rb") as f:
        raw = f.read()
    if path.endswith(".gz"):
        out, damaged, data = [], False, raw
        while data and not damaged:
            d = zlib.decompressobj(wbits=31)
            # Feed small chunks so that output decoded before a corrupt spot is kept.
            for i in range(0, len(data), 4096):
                try:
                    out.append(d.decompress(data[i:i + 4096]))
                except zlib.error:
                    damaged = True
                    break
                if d.eof:
                    break
            if not damaged and not d.eof:
                damaged = True  # truncated member
            data = d.unused_data + data[i + 4096:] if d.eof else b""
        return b"".join(out), damaged
    if path.endswith(".zst"):
        proc = subprocess.run(["zstd", "-dc", "-q", path], capture_output=True)
        return proc.stdout, proc.returncode != 0
    return raw, False


def _all_strings_utf8(value):
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return True
        except UnicodeEncodeError:
            return False
    if isinstance(value, dict):
        return all(_all_strings_utf8(k) and _all_strings_utf8(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_all_strings_utf8(v) for v in value)
    return True


def classify(line, text_field):
    """Returns ("doc", obj) or (kind, None) for one line (bytes, no newline)."""
    try:
        s = line.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid_utf8", None
    try:
        obj = json.loads(s)
    except ValueError:
        return "invalid_json", None
    if not _all_strings_utf8(obj):
        return "invalid_utf8", None
    if not isinstance(obj, dict):
        return "invalid_json", None
    if text_field not in obj:
        return "missing_field", None
    if not isinstance(obj[text_field], str):
        return "field_not_string", None
    return "doc", obj


def read_file(path, text_field="content"):
    """Everything the index should record about one file."""
    data, damaged = decode_file(path)
    pieces = data.split(b"\n")
    last = pieces.pop()  # after the final "\n" (b"" when the file ends with one)
    if last and not damaged:
        pieces.append(last)
    docs, bad = [], {}
    for number, line in enumerate(pieces, start=1):
        if not line.strip(b" \t\r"):
            continue
        kind, obj = classify(line, text_field)
        if kind == "doc":
            docs.append({"line": number, "text": obj[text_field], "obj": obj})
        else:
            count, first = bad.get(kind, (0, number))
            bad[kind] = (count + 1, first)
    return {"docs": docs, "bad": bad, "damaged": damaged, "lines": len(pieces),
            "size": os.path.getsize(path)}


def corpus_files(root):
    out = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            low = name.lower()
            base = low[:-3] if low.endswith(".gz") else low[:-4] if low.endswith(".zst") else low
            if base.endswith(".jsonl") or base.endswith(".json"):
                full = os.path.join(dirpath, name)
                if os.path.isfile(full):
                    out.append(os.path.relpath(full, root))
    return sorted(out)


def quality(text):
    """The quality signals as docs/quality.md defines them, straight from CodeParrot's code."""
    lines = text.splitlines()
    lengths = [len(line) for line in lines]
    lower = text.translate(ASCII_LOWER)
    head = [line.translate(ASCII_LOWER) for line in lines[:5]]
    threshold = int(0.05 * text.count("\n"))
    config_or_test = (any(k in h for h in head for k in ("unit tests", "test file", "configuration file"))
                      or lower.count("config") > threshold or lower.count("test") > threshold)
    return {
        "num_lines": len(lines),
        "max_line_chars": max(lengths) if lengths else 0,
        "line_chars_total": sum(lengths),
        "code_points": len(text),
        "alnum_chars": sum(1 for c in text if c.isascii() and c.isalnum()),
        "autogenerated": any(k in h for h in head
                             for k in ("auto-generated", "autogenerated", "automatically generated")),
        "config_or_test": config_or_test,
        "no_keywords": not any(k in lower for k in ("def ", "class ", "for ", "while ")),
        "few_assignments": text.count("=") <= 4,
    }


def expected_stats(root, text_field="content", top_repos=10):
    """The integer facts of `shardstream stats --json`, computed independently."""
    files = [read_file(os.path.join(root, rel), text_field) for rel in corpus_files(root)]
    seen = set()
    st = {"files": len(files), "docs": 0, "unique_docs": 0, "duplicate_docs": 0,
          "duplicate_bytes": 0, "text_bytes": 0, "bad_lines": 0,
          "damaged_files": sum(f["damaged"] for f in files),
          "bad_lines_by_kind": {}, "licenses": {}, "rules": {}, "codeparrot_clean_docs": 0}
    repos = {}
    rule_names = ["max_line_chars_gt_1000", "mean_line_chars_gt_100", "alnum_fraction_lt_0.25",
                  "autogenerated", "config_or_test", "no_keywords", "few_assignments"]
    st["rules"] = {name: 0 for name in rule_names}
    for f in files:
        for kind, (count, _) in f["bad"].items():
            st["bad_lines"] += count
            st["bad_lines_by_kind"][kind] = st["bad_lines_by_kind"].get(kind, 0) + count
        for d in f["docs"]:
            raw = d["text"].encode("utf-8")
            digest = hashlib.sha256(raw).digest()
            st["docs"] += 1
            st["text_bytes"] += len(raw)
            duplicate = digest in seen
            seen.add(digest)
            if duplicate:
                st["duplicate_docs"] += 1
                st["duplicate_bytes"] += len(raw)
            else:
                st["unique_docs"] += 1
            lic = d["obj"].get("license")
            lic = lic if isinstance(lic, str) else ""
            st["licenses"][lic] = st["licenses"].get(lic, 0) + 1
            repo = d["obj"].get("repo_name")
            if isinstance(repo, str) and repo:
                repos[repo] = repos.get(repo, 0) + 1
            q = quality(d["text"])
            flags = {
                "max_line_chars_gt_1000": q["max_line_chars"] > 1000,
                "mean_line_chars_gt_100": q["num_lines"] > 0 and q["line_chars_total"] / q["num_lines"] > 100,
                "alnum_fraction_lt_0.25": q["code_points"] > 0 and q["alnum_chars"] / q["code_points"] < 0.25,
                "autogenerated": q["autogenerated"],
                "config_or_test": q["config_or_test"],
                "no_keywords": q["no_keywords"],
                "few_assignments": q["few_assignments"],
            }
            for name, flagged in flags.items():
                st["rules"][name] += flagged
            preset = ("max_line_chars_gt_1000", "mean_line_chars_gt_100", "alnum_fraction_lt_0.25",
                      "autogenerated")
            if not duplicate and not any(flags[n] for n in preset):
                st["codeparrot_clean_docs"] += 1
    ranked = sorted(repos.items(), key=lambda kv: (-kv[1], kv[0]))[:top_repos]
    st["top_repos"] = [{"repo_name": r, "docs": n} for r, n in ranked]
    st["distinct_repos"] = len(repos)
    return st, files
