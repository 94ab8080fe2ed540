"""`shardstream train-tokenizer` equals Hugging Face's BpeTrainer.

References were trained by Hugging Face `tokenizers` 0.23.2, never by this code:
tests/data/codeparrot/tokenizer.json (the CodeParrot recipe on every document of
tests/data/corpus-sample, vocab 32,768) and tests/data/trainer/hf-default-trainer.json (the npm
package's default trainer on the lines of the first 300 documents, tools/reference/train_reference.js).
"""
import gzip
import json
import os

from conftest import DATA, run


def sample_documents():
    docs = []
    for name in sorted(os.listdir(os.path.join(DATA, "corpus-sample"))):
        if name.endswith(".json.gz"):
            with gzip.open(os.path.join(DATA, "corpus-sample", name), "rt", encoding="utf-8") as f:
                docs.extend(json.loads(line)["content"] for line in f)
    return docs


def assert_same_model(got_path, want_path):
    with open(got_path, encoding="utf-8") as f:
        got = json.load(f)
    with open(want_path, encoding="utf-8") as f:
        want = json.load(f)
    assert got["added_tokens"] == want["added_tokens"]
    assert got["model"]["vocab"] == want["model"]["vocab"]
    assert got["model"]["merges"] == want["model"]["merges"]
    return got


def test_codeparrot_recipe_equals_the_reference(shardstream_bin, tmp_path):
    db, out = str(tmp_path / "db"), str(tmp_path / "tokenizer.json")
    run(shardstream_bin, "index", "--db", db, "--corpus", os.path.join(DATA, "corpus-sample"))
    summary = run(shardstream_bin, "train-tokenizer", "--db", db, "--vocab-size", "32768",
                  "--out", out, "--all-docs", "--jobs", "2").stdout
    assert "32768 tokens, 32511 merges" in summary
    model = assert_same_model(out, os.path.join(DATA, "codeparrot", "tokenizer.json"))
    assert model["model"]["vocab"]["<|endoftext|>"] == 0
    # Both this project's tokenizer and (by construction of the reference) Hugging Face's load it.
    ids = json.loads(run(shardstream_bin, "encode", "--tokenizer", out, "--text",
                         "    def forward(self, x):\n").stdout)
    ref = json.loads(run(shardstream_bin, "encode", "--tokenizer",
                         os.path.join(DATA, "codeparrot", "tokenizer.json"), "--text",
                         "    def forward(self, x):\n").stdout)
    assert ids == ref and len(ids) < 10


def test_default_trainer_on_other_input_and_size_equals_hugging_face(shardstream_bin, tmp_path):
    # Hugging Face trained on a file of lines, one sequence per line: index the same lines,
    # one document each.
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    with open(corpus / "lines.jsonl", "w", encoding="utf-8") as f:
        for doc in sample_documents()[:300]:
            parts = doc.split("\n")
            for part in parts[:-1] + ([parts[-1]] if parts[-1] else []):
                f.write(json.dumps({"content": part + "\n"}) + "\n")
    db, out = str(tmp_path / "db"), str(tmp_path / "tokenizer.json")
    run(shardstream_bin, "index", "--db", db, "--corpus", str(corpus))
    run(shardstream_bin, "train-tokenizer", "--db", db, "--vocab-size", "30000", "--out", out,
        "--all-docs", "--no-special", "--alphabet", "seen")
    assert_same_model(out, os.path.join(DATA, "trainer", "hf-default-trainer.json"))


def test_bad_options_exit_2(shardstream_bin, tmp_path):
    db = str(tmp_path / "db")
    run(shardstream_bin, "index", "--db", db, "--corpus", os.path.join(DATA, "corpus-sample"))
    out = str(tmp_path / "t.json")
    for args in (("--vocab-size", "100"), ("--alphabet", "some"), ("--filter", "bogus")):
        proc = run(shardstream_bin, "train-tokenizer", "--db", db, "--out", out, *args, check=False)
        assert proc.returncode == 2, args


def test_report_holds_out_documents_and_compares_with_a_baseline(shardstream_bin, tmp_path):
    db, out = str(tmp_path / "db"), str(tmp_path / "t.json")
    run(shardstream_bin, "index", "--db", db, "--corpus", os.path.join(DATA, "corpus-sample"))
    report = run(shardstream_bin, "train-tokenizer", "--db", db, "--vocab-size", "2000", "--out",
                 out, "--all-docs", "--report", "--held-out-every", "20", "--compare-with",
                 os.path.join(DATA, "gpt2", "tokenizer.json")).stdout
    # Ids 0..2791, multiples of 20 held out: 140 documents; the rest trained on.
    held_out = len(range(0, len(sample_documents()), 20))
    assert f"report on {held_out} held-out documents" in report
    assert f"trained on {len(sample_documents()) - held_out} documents" in report
    for needle in ("trained ", "baseline ", "bytes/token", "of the baseline's tokens",
                   "Python keywords and builtins", "longest tokens:"):
        assert needle in report, needle


def test_samples_take_the_first_documents_by_id(shardstream_bin, tmp_path):
    db = str(tmp_path / "db")
    run(shardstream_bin, "index", "--db", db, "--corpus", os.path.join(DATA, "corpus-sample"))
    docs = sample_documents()
    by_docs = run(shardstream_bin, "train-tokenizer", "--db", db, "--vocab-size", "500", "--out",
                  str(tmp_path / "a.json"), "--all-docs", "--sample-docs", "100").stdout
    assert "trained on 100 documents" in by_docs
    # --sample-bytes: the first documents until their text reaches the limit (inclusive).
    limit, total, n = 1_000_000, 0, 0
    for d in docs:
        total += len(d.encode())
        n += 1
        if total >= limit:
            break
    by_bytes = run(shardstream_bin, "train-tokenizer", "--db", db, "--vocab-size", "500", "--out",
                   str(tmp_path / "b.json"), "--all-docs", "--sample-bytes", str(limit)).stdout
    assert f"trained on {n} documents" in by_bytes
