// Generates tests/data/tokenizer_references.jsonl.gz: expected ids from Hugging Face
// `tokenizers` (npm package) for edge-case texts, for several tokenizer variants and both
// encode modes. Development tool only (the build and tests never run it). Usage, from a
// scratch folder with `npm install tokenizers`:
//   NODE_PATH=$PWD/node_modules node tools/reference/tokenizer_references.js \
//     tests/data/gpt2/tokenizer.json tests/data/codeparrot/tokenizer.json \
//     | gzip -9 > tests/data/tokenizer_references.jsonl.gz
// Each output line: {"variant", "case", "text", "ordinary": ids, "special": ids}; the first
// lines ({"variant", "base", "patch"}) describe how each variant's tokenizer.json is made from
// its base file by replacing top-level keys / model keys.
const fs = require('fs');
const {Tokenizer} = require('tokenizers');

const [gpt2Path, codeparrotPath] = process.argv.slice(2);
const bases = {gpt2: JSON.parse(fs.readFileSync(gpt2Path, 'utf8')),
               codeparrot: JSON.parse(fs.readFileSync(codeparrotPath, 'utf8'))};
const CL100K = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const split = (regex) => ({type: 'Sequence', pretokenizers: [
  {type: 'Split', pattern: {Regex: regex}, behavior: 'Isolated', invert: false},
  {type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false}]});
const variants = [
  {variant: 'gpt2', base: 'gpt2', patch: {}},
  {variant: 'gpt2-prefix-space', base: 'gpt2',
   patch: {pre_tokenizer: {type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true}}},
  {variant: 'gpt2-split-cl100k', base: 'gpt2', patch: {pre_tokenizer: split(CL100K)}},
  {variant: 'gpt2-split-gpt2', base: 'gpt2', patch: {pre_tokenizer: split(GPT2)}},
  {variant: 'gpt2-split-cl100k-ignore-merges', base: 'gpt2',
   patch: {pre_tokenizer: split(CL100K), model: {ignore_merges: true}}},
  {variant: 'codeparrot', base: 'codeparrot', patch: {}},
];

function build(v, withAdded) {
  const j = JSON.parse(JSON.stringify(bases[v.base]));
  for (const [k, val] of Object.entries(v.patch)) {
    if (k === 'model') Object.assign(j.model, val); else j[k] = val;
  }
  if (!withAdded) j.added_tokens = [];
  return Tokenizer.fromString(JSON.stringify(j));
}

// Edge-case texts (shared with component_references.js).
const cases = require('./edge_cases.js');

(async () => {
  const out = [];
  for (const v of variants) out.push(JSON.stringify({variant: v.variant, base: v.base, patch: v.patch}));
  for (const v of variants) {
    const withAdded = build(v, true), ordinary = build(v, false);
    for (const [name, text] of cases) {
      const special = (await withAdded.encode(text, null, {addSpecialTokens: false})).getIds();
      const plain = (await ordinary.encode(text, null, {addSpecialTokens: false})).getIds();
      out.push(JSON.stringify({variant: v.variant, case: name, text, ordinary: plain, special}));
    }
  }
  process.stdout.write(out.join('\n') + '\n');
})();
