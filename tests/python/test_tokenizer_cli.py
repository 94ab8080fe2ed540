"""Exactness of `shardstream encode` against ids from Hugging Face `tokenizers` 0.23.

The expected ids were produced by Hugging Face (tools/reference/tokenizer_references.js for
tests/data/tokenizer_references.jsonl.gz, and the shared reference for gpt2/reference-ids),
never by shardstream.
"""
import gzip
import json
import os
import random
import subprocess

import pytest

from conftest import DATA, patch_tokenizer, peak_rss_mib, run

BASES = {"gpt2": os.path.join(DATA, "gpt2", "tokenizer.json"),
         "codeparrot": os.path.join(DATA, "codeparrot", "tokenizer.json")}


def load_references():
    variants, cases = {}, {}
    with gzip.open(os.path.join(DATA, "tokenizer_references.jsonl.gz"), "rt", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if "patch" in record:
                variants[record["variant"]] = record
            else:
                cases.setdefault(record["variant"], []).append(record)
    return variants, cases


VARIANTS, CASES = load_references()


def variant_file(tmp_path, variant):
    spec = VARIANTS[variant]
    with open(BASES[spec["base"]], encoding="utf-8") as f:
        tokenizer = patch_tokenizer(json.load(f), spec["patch"])
    path = tmp_path / f"{variant}.json"
    path.write_text(json.dumps(tokenizer), encoding="utf-8")
    return str(path)


def encode_jsonl(bin_path, tokenizer, texts, tmp_path, *extra):
    src = tmp_path / "texts.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}) + "\n")
    out = run(bin_path, "encode", "--tokenizer", tokenizer, "--jsonl", str(src), *extra).stdout
    return [json.loads(line) for line in out.splitlines()]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("mode", ["ordinary", "special"])
def test_edge_cases_match_hugging_face(shardstream_bin, tmp_path, variant, mode):
    cases = CASES[variant]
    assert len(cases) > 300
    extra = ("--allow-special",) if mode == "special" else ()
    got = encode_jsonl(shardstream_bin, variant_file(tmp_path, variant),
                       [c["text"] for c in cases], tmp_path, "--jobs", "2", *extra)
    mismatches = [c["case"] for c, ids in zip(cases, got) if ids != c[mode]]
    assert len(got) == len(cases)
    assert mismatches == []


def test_reference_documents_match_hugging_face(shardstream_bin, tmp_path):
    with gzip.open(os.path.join(DATA, "gpt2", "reference-ids.jsonl.gz"), "rt", encoding="utf-8") as f:
        refs = [json.loads(line) for line in f]
    assert len(refs) == 400
    for args in (("--tokenizer", BASES["gpt2"]),
                 ("--tokenizer", os.path.join(DATA, "gpt2", "vocab.json"),
                  "--merges", os.path.join(DATA, "gpt2", "merges.txt"))):
        got = encode_jsonl(shardstream_bin, args[1], [r["text"] for r in refs], tmp_path,
                           *args[2:], "--jobs", "2")
        assert [i for i, (g, r) in enumerate(zip(got, refs)) if g != r["ids"]] == []


def test_decode_round_trips_and_encode_refuses_invalid_utf8(shardstream_bin, tmp_path):
    text = "def f():\n    return 'é😀'  <|endoftext|>\r\n"
    ids = json.loads(run(shardstream_bin, "encode", "--tokenizer", BASES["gpt2"], "--text", text).stdout)
    out = run(shardstream_bin, "decode", "--tokenizer", BASES["gpt2"], "--ids", json.dumps(ids)).stdout
    assert json.loads(out) == text
    proc = subprocess.run([shardstream_bin, "decode", "--tokenizer", BASES["gpt2"], "--raw"],
                          input=(json.dumps(ids) + "\n").encode(), capture_output=True)
    assert proc.returncode == 0 and proc.stdout == text.encode() + b"\n"
    bad = run(shardstream_bin, "encode", "--tokenizer", BASES["gpt2"], "--text",
              "ok", check=False)
    assert bad.returncode == 0
    proc = subprocess.run([shardstream_bin, "encode", "--tokenizer", BASES["gpt2"], "--text",
                           b"bad \xff byte"], capture_output=True)
    assert proc.returncode == 1 and b"not valid UTF-8 at byte 4" in proc.stderr
    proc = run(shardstream_bin, "decode", "--tokenizer", BASES["gpt2"], "--ids", "[1, 99999999]",
               check=False)
    assert proc.returncode == 1 and "99999999" in proc.stderr


def test_unsupported_components_are_refused_by_name(shardstream_bin, tmp_path):
    with open(BASES["gpt2"], encoding="utf-8") as f:
        base = json.load(f)
    cases = {
        "normalizer BertNormalizer": ("normalizer", {"type": "BertNormalizer"}),
        "normalizer Precompiled": ("normalizer", {"type": "Sequence", "normalizers": [
            {"type": "NFC"}, {"type": "Precompiled", "precompiled_charsmap": ""}]}),
        "pre_tokenizer UnicodeScripts": ("pre_tokenizer", {"type": "UnicodeScripts"}),
        "decoder CTC": ("decoder", {"type": "CTC"}),
        "model WordPiece": ("model", dict(base["model"], type="WordPiece")),
        "BPE dropout": ("model", dict(base["model"], dropout=0.1)),
        "class intersection": ("pre_tokenizer", {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "[a-z&&[^aeiou]]+"}, "behavior": "Isolated",
             "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "use_regex": False}]}),
    }
    for expected, (key, value) in cases.items():
        broken = dict(base, **{key: value})
        path = tmp_path / "t.json"
        path.write_text(json.dumps(broken), encoding="utf-8")
        proc = run(shardstream_bin, "encode", "--tokenizer", str(path), "--text", "x", check=False)
        assert proc.returncode == 1, expected
        assert expected in proc.stderr, (expected, proc.stderr)


def test_encode_jsonl_memory_does_not_follow_the_input_size(shardstream_bin, tmp_path):
    # Before: `encode --jsonl` held a whole 4,096-line batch of texts, ids and output, 307 MB of
    # RSS for 40 MB of input (and tens of GB for 4,096 long documents). Now a pipeline of
    # 1 MiB batches: 48 MB of input, with bad lines among them, under 150 MiB, in input order,
    # the same at --jobs 1 and 3 and the same as each text encoded alone (--text).
    rng = random.Random(5)
    words = ["def", "return", "self", "import", "x", "(", ")", ":", "\n    ", "=", "0", "é", "😀"]
    src = tmp_path / "big.jsonl"
    texts = {}
    with open(src, "w", encoding="utf-8") as f:
        for i in range(2400):
            if i % 500 == 7:
                f.write("not json\n" if i % 1000 == 7 else json.dumps({"other": 1}) + "\n")
                continue
            text = " ".join(rng.choice(words) for _ in range(rng.randrange(1000, 7000)))
            texts[i] = text
            f.write(json.dumps({"text": text}) + "\n")
    assert os.path.getsize(src) > 40e6
    cmd = [shardstream_bin, "encode", "--tokenizer", BASES["gpt2"], "--jsonl", str(src)]
    rss = peak_rss_mib([*cmd, "--jobs", "3"])
    assert rss < 150, rss
    three = subprocess.run([*cmd, "--jobs", "3"], capture_output=True, text=True, check=True)
    one = subprocess.run([*cmd, "--jobs", "1"], capture_output=True, text=True, check=True)
    assert three.stdout == one.stdout
    assert three.stderr.count("warning: ") == 5, three.stderr
    lines = three.stdout.splitlines()
    assert len(lines) == 2400
    assert [i for i, line in enumerate(lines) if line == "null"] == [7, 507, 1007, 1507, 2007]
    for i in rng.sample(sorted(texts), 5):
        alone = run(shardstream_bin, "encode", "--tokenizer", BASES["gpt2"], "--text", texts[i])
        assert json.loads(lines[i]) == json.loads(alone.stdout), i
