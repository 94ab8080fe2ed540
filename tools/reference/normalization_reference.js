// Dumps what Hugging Face `tokenizers` (npm package: Rust's unicode-normalization tables and
// char::to_lowercase) makes of every code point alone under NFC, NFD, NFKC, NFKD, Lowercase and
// StripAccents,
// for the code points it changes: one JSON line {"form", "cp", "to"} each. Input for
// tools/reference/normalization_exceptions.cc, which keeps where ICU differs.
// Development tool only. Usage (see README.md here):
//   NODE_PATH=$PWD/node_modules node tools/reference/normalization_reference.js >
//   /tmp/hf-norm.jsonl
const t = require('tokenizers');
const forms = {
  NFC: t.nfcNormalizer(),
  NFD: t.nfdNormalizer(),
  NFKC: t.nfkcNormalizer(),
  NFKD: t.nfkdNormalizer(),
  Lowercase: t.lowercase(),
  StripAccents: t.stripAccentsNormalizer()
};
const sep = '\u0001';  // a starter that nothing composes with and every form leaves alone
const chars = [];
for (let c = 0; c < 0x110000; c++)
  if ((c < 0xD800 || c > 0xDFFF) && c !== 1) chars.push(c);
const out = [];
for (const [form, n] of Object.entries(forms)) {
  const parts =
      n.normalizeString(sep + chars.map((c) => String.fromCodePoint(c)).join(sep) + sep).split(sep);
  if (parts.length !== chars.length + 2) throw new Error(`${form}: ${parts.length} parts`);
  chars.forEach((c, i) => {
    const to = parts[i + 1];
    if (to !== String.fromCodePoint(c)) out.push(JSON.stringify({form, cp: c, to}));
  });
}
process.stdout.write(out.join('\n') + '\n');
