"""Normalizers, pre-tokenizers, SentencePiece-style BPE and decoders against Hugging Face.

tests/data/tokenizer_components.jsonl.gz holds the ids and decoded texts that Hugging Face
`tokenizers` 0.23 (npm) gives for each variant's tokenizer.json on the edge-case texts, documents
in several languages and the characters whose normalization forms differ; it was written by
tools/reference/component_references.js, never by shardstream. Variants are a base file
(GPT-2; Qwen3's own tokenizer.json, Apache-2.0; a SentencePiece-style and a subword-affix
vocabulary that script builds) with components replaced.
"""
import gzip
import json
import os
import subprocess

import pytest

from conftest import DATA, patch_tokenizer, run


def read_json(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return json.load(f)


BASES = {"gpt2": os.path.join(DATA, "gpt2", "tokenizer.json"),
         "qwen3": os.path.join(DATA, "qwen3", "tokenizer.json.gz"),
         "sentencepiece": os.path.join(DATA, "sentencepiece", "tokenizer.json.gz"),
         "affix": os.path.join(DATA, "affix", "tokenizer.json.gz")}


def load_references():
    texts, variants, results = {}, {}, {}
    with gzip.open(os.path.join(DATA, "tokenizer_components.jsonl.gz"), "rt",
                   encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if "text" in record:
                texts[record["case"]] = record["text"]
            elif "patch" in record:
                variants[record["variant"]] = record
            else:
                results.setdefault(record["variant"], []).append(record)
    return texts, variants, results


TEXTS, VARIANTS, RESULTS = load_references()


@pytest.fixture(scope="module")
def variant_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("variants")
    files = {}
    for name, spec in VARIANTS.items():
        tokenizer = patch_tokenizer(read_json(BASES[spec["base"]]), spec["patch"])
        path = folder / f"{name}.json"
        path.write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")
        files[name] = str(path)
    return files


def encode(bin_path, tokenizer, texts, tmp_path, *extra):
    src = tmp_path / "texts.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}) + "\n")
    out = run(bin_path, "encode", "--tokenizer", tokenizer, "--jsonl", str(src), "--jobs", "2",
              *extra).stdout
    return [json.loads(line) for line in out.split("\n")[:-1]]


def decode(bin_path, tokenizer, id_lists):
    stdin = "".join(json.dumps(ids) + "\n" for ids in id_lists)
    out = subprocess.run([bin_path, "decode", "--tokenizer", tokenizer], input=stdin,
                         capture_output=True, text=True, check=True).stdout
    # Only "\n" ends a line: texts hold U+2028 and U+0085, which splitlines() also splits at.
    return [json.loads(line) for line in out.split("\n")[:-1]]


def test_the_references_cover_every_component():
    assert len(VARIANTS) >= 20
    assert len(TEXTS) > 400
    assert all(len(RESULTS[v]) > 350 for v in VARIANTS)
    described = json.dumps([spec["patch"] for spec in VARIANTS.values()])
    for component in ["NFC", "NFKC", "NFD", "NFKD", "Lowercase", "StripAccents", "Strip",
                      "Replace", "Prepend", "Split", "Metaspace", "Digits", "Punctuation",
                      "Whitespace", "WhitespaceSplit", "BertPreTokenizer", "CharDelimiterSplit",
                      "ByteFallback", "Fuse", "Removed", "MergedWithPrevious", "MergedWithNext",
                      "Contiguous", "lstrip", "rstrip", "single_word", "ignore_merges"]:
        assert f'"{component}"' in described, component


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("mode", ["ordinary", "special"])
def test_ids_match_hugging_face(shardstream_bin, tmp_path, variant_files, variant, mode):
    results = RESULTS[variant]
    extra = ("--allow-special",) if mode == "special" else ()
    got = encode(shardstream_bin, variant_files[variant], [TEXTS[r["case"]] for r in results],
                 tmp_path, *extra)
    assert len(got) == len(results)
    mismatches = [r["case"] for r, ids in zip(results, got) if ids != r[mode]]
    assert mismatches == []


@pytest.mark.parametrize("variant", sorted(v for v in VARIANTS if RESULTS[v][0]["decoded"] is not None))
def test_decode_matches_hugging_face(shardstream_bin, variant_files, variant):
    results = RESULTS[variant]
    got = decode(shardstream_bin, variant_files[variant], [r["special"] for r in results])
    assert len(got) == len(results)
    assert [r["case"] for r, text in zip(results, got) if text != r["decoded"]] == []
    # Where Hugging Face round-trips, so does shardstream.
    round_trips = [r for r in results if r["decoded"] == TEXTS[r["case"]]]
    assert len(round_trips) > 0


def test_tokenize_ends_documents_with_the_models_end_token(shardstream_bin, tmp_path, variant_files):
    # Without --eos, a SentencePiece-style vocabulary's documents end with "</s>" (id 2), not
    # with its first special token "<unk>" (id 0).
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    with gzip.open(corpus / "a.jsonl.gz", "wt", encoding="utf-8") as f:
        for text in ["def f():\n    return 1\n", "print('hello world')\n"]:
            f.write(json.dumps({"content": text}) + "\n")
    db = str(tmp_path / "db")
    run(shardstream_bin, "index", "--db", db, "--corpus", str(corpus))
    out = run(shardstream_bin, "tokenize", "--db", db, "--tokenizer",
              variant_files["llama2-style"], "--name", "spm").stdout
    assert "EOS 2)" in out, out
