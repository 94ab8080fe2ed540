// Trains Hugging Face's default BPE trainer (npm package `tokenizers`: vocab_size 30000,
// min_frequency 0, no special tokens, alphabet = characters seen) on a text file, one sequence
// per line, with the ByteLevel pre-tokenizer (no prefix space), and saves tokenizer.json.
// Development tool only: tests/data/trainer/hf-default-trainer.json came from it; it also
// times the training for bench/train_bench.sh.
// usage: NODE_PATH=... node tools/reference/train_reference.js LINES.txt OUT.json
const {Tokenizer, BPE, byteLevelPreTokenizer, byteLevelDecoder} = require('tokenizers');
const [input, output] = process.argv.slice(2);
const tok = new Tokenizer(BPE.empty());
tok.setPreTokenizer(byteLevelPreTokenizer(false, true));
const t0 = process.hrtime.bigint();
tok.train([input]);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
tok.save(output, false);
console.log(JSON.stringify({trainer: 'npm tokenizers default BpeTrainer', seconds,
                            vocab: tok.getVocabSize(true)}));
