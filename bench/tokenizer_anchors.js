// Throughput anchors for bench/tokenizer_bench.sh: the npm builds of tiktoken (WASM) and
// Hugging Face tokenizers (native) encoding the same texts as shardstream, in the same run.
// Needs the npm packages `tiktoken` and `tokenizers` (NODE_PATH); the product never uses Node.
// usage: node tokenizer_anchors.js TOKENIZER_JSON TEXTS_JSONL [RUNS] [--encode-only]
// Prints one JSON line per anchor, like build/bench/tokenizer_throughput. --encode-only: just
// npm tokenizers' one-thread encode (any tokenizer.json; tiktoken only knows GPT-2's).
const fs = require('fs');
const [tokenizerPath, textsPath, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 3);
const encodeOnly = process.argv.includes('--encode-only');
const texts = fs.readFileSync(textsPath, 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l).text);
const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t, 'utf8'), 0);

function report(name, threads, seconds, tokens) {
  console.log(JSON.stringify({name, threads, docs: texts.length, bytes, tokens, seconds,
                              mb_per_s: bytes / seconds / 1e6, tokens_per_s: tokens / seconds}));
}

async function main() {
  if (!encodeOnly) try {
      const {get_encoding} = require('tiktoken');
      const enc = get_encoding('gpt2');
      let best = Infinity, tokens = 0;
      for (let r = 0; r < runs; r++) {
        tokens = 0;
        const t0 = process.hrtime.bigint();
        for (const t of texts) tokens += enc.encode_ordinary(t).length;
        best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
      }
      enc.free();
      report('npm tiktoken (WASM) encode_ordinary', 1, best, tokens);
    } catch (e) {
      console.error('tiktoken not available: ' + e.message);
    }
  try {
    const {Tokenizer} = require('tokenizers');
    const json = JSON.parse(fs.readFileSync(tokenizerPath, 'utf8'));
    json.added_tokens = [];  // ordinary mode, like shardstream's corpus tokenization
    const tok = Tokenizer.fromString(JSON.stringify(json));
    let best = Infinity, tokens = 0;
    for (let r = 0; r < runs; r++) {
      tokens = 0;
      const t0 = process.hrtime.bigint();
      for (const t of texts) tokens += (await tok.encode(t, null, {addSpecialTokens: false})).getIds().length;
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    report('npm tokenizers encode', 1, best, tokens);
    if (encodeOnly) return;
    best = Infinity;
    for (let r = 0; r < runs; r++) {
      const t0 = process.hrtime.bigint();
      const out = await tok.encodeBatch(texts, {addSpecialTokens: false});
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
      tokens = out.reduce((n, e) => n + e.getIds().length, 0);
    }
    report('npm tokenizers encodeBatch', require('os').cpus().length, best, tokens);
  } catch (e) {
    console.error('tokenizers not available: ' + e.message);
  }
}
main();
