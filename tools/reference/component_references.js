// Generates tests/data/tokenizer_components.jsonl.gz: ids and decoded texts from Hugging Face
// `tokenizers` (npm package) for tokenizer.json files that use the components of
// common/normalizer.h, common/pre_tokenizer_sequence.h and common/token_decoder.h and the BPE
// model's options, on the edge-case texts plus documents in several languages. Also writes the
// SentencePiece-style and subword-affix base vocabularies it builds (--write-bases).
// Development tool only; the build and the tests never run it. Usage (docs: README.md here):
//   NODE_PATH=$PWD/node_modules node tools/reference/component_references.js tests/data \
//     | gzip -9 > tests/data/tokenizer_components.jsonl.gz
// Output lines: {"case", "text"} once per text; {"variant", "base", "patch"} per tokenizer;
// {"variant", "case", "ordinary", "special", "decoded"} with ids without / with added tokens
// and Hugging Face's decode of the "special" ids (null when the decoder is null). The
// normalization texts are encoded only by the variants that have a normalizer.
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const {Tokenizer} = require('tokenizers');

const data = process.argv[2];
const readJson = (p) => JSON.parse(
    p.endsWith('.gz') ? zlib.gunzipSync(fs.readFileSync(p)).toString('utf8') :
                        fs.readFileSync(p, 'utf8'));
const gpt2 = readJson(path.join(data, 'gpt2/tokenizer.json'));

// GPT-2's byte-level alphabet, to turn its tokens back into text.
const byteToChar = (() => {
  const bs = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const map = {};
  let n = 0;
  for (let b = 0; b < 256; b++) map[b] = String.fromCodePoint(bs.includes(b) ? b : 256 + n++);
  return map;
})();
const charToByte = Object.fromEntries(Object.entries(byteToChar).map(([b, c]) => [c, Number(b)]));
function gpt2Text(token) {  // null when the bytes are not valid UTF-8
  const bytes = Buffer.from([...token].map((c) => charToByte[c]));
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : null;
}

// A SentencePiece-style BPE vocabulary (characters, "▁" for spaces, <0xHH> byte tokens, <unk>
// <s> </s>) made from the first 16,000 GPT-2 tokens and the merges among them.
function sentencePieceBase() {
  const vocab = {'<unk>': 0, '<s>': 1, '</s>': 2};
  for (let b = 0; b < 256; b++)
    vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  const tokens = Object.entries(gpt2.model.vocab).sort((a, b) => a[1] - b[1]).slice(0, 16000);
  const map = {};
  for (const [token] of tokens) {
    const text = gpt2Text(token);
    if (text === null || text === '') continue;
    const piece = text.replace(/ /g, '\u2581');
    if (!(piece in vocab)) vocab[piece] = Object.keys(vocab).length;
    map[token] = piece;
  }
  const merges = [];
  for (const m of gpt2.model.merges) {
    const [a, b] = typeof m === 'string' ? m.split(' ') : m;
    if (!(a in map) || !(b in map)) continue;
    const merged = map[a] + map[b];
    if (merged in vocab) merges.push([map[a], map[b]]);
  }
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['<unk>', '<s>', '</s>'].map((content, id) => ({
                                                 id,
                                                 content,
                                                 single_word: false,
                                                 lstrip: false,
                                                 rstrip: false,
                                                 normalized: false,
                                                 special: true
                                               })),
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges
    }
  };
}

// A small vocabulary with a continuing-subword prefix "##" and an end-of-word suffix "</w>":
// every ASCII character in all four forms, and merges that build some common words.
function affixBase() {
  const vocab = {'[UNK]': 0};
  const add = (t) => {
    if (!(t in vocab)) vocab[t] = Object.keys(vocab).length;
  };
  for (let c = 33; c < 127; c++) {
    const ch = String.fromCharCode(c);
    for (const t of [ch, '##' + ch, ch + '</w>', '##' + ch + '</w>']) add(t);
  }
  const merges = [];
  const words = [
    'the', 'and', 'tokenizer', 'hello', 'world', 'testing', 'token', 'def', 'return', 'class',
    'import', 'self', 'value', 'string', 'int', 'print'
  ];
  for (const w of words) {
    for (const suffix of ['', '</w>']) {
      let symbols = [...w].map((c, i) => (i ? '##' : '') + c);
      symbols[symbols.length - 1] += suffix;
      while (symbols.length > 1) {
        const [a, b] = symbols;
        const merged = a + b.slice(2);
        add(merged);
        if (!merges.some(([x, y]) => x === a && y === b)) merges.push([a, b]);
        symbols = [merged, ...symbols.slice(2)];
      }
    }
  }
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: {type: 'Whitespace'},
    post_processor: null,
    decoder: null,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges
    }
  };
}

const bases = {
  gpt2,
  qwen3: readJson(path.join(data, 'qwen3/tokenizer.json.gz')),
  sentencepiece: sentencePieceBase(),
  affix: affixBase()
};
if (process.argv.includes('--write-bases')) {
  for (const name of ['sentencepiece', 'affix']) {
    fs.mkdirSync(path.join(data, name), {recursive: true});
    fs.writeFileSync(
        path.join(data, name, 'tokenizer.json.gz'),
        zlib.gzipSync(JSON.stringify(bases[name]), {level: 9}));
  }
}

const byteLevel = (prefix, regex) =>
    ({type: 'ByteLevel', add_prefix_space: prefix, trim_offsets: true, use_regex: regex});
const split = (pattern, behavior, invert = false) => ({type: 'Split', pattern, behavior, invert});
const seq = (...p) => ({type: 'Sequence', pretokenizers: p});
const nseq = (...n) => ({type: 'Sequence', normalizers: n});
const dseq = (...d) => ({type: 'Sequence', decoders: d});
const O200K =
    '[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:\'s|\'t|\'re|\'ve|\'m|\'ll|\'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:\'s|\'t|\'re|\'ve|\'m|\'ll|\'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+';
const DEEPSEEK = [
  split({Regex: '\\p{N}{1,3}'}, 'Isolated'),
  split({Regex: '[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+'}, 'Isolated'),
  split(
      {
        Regex:
            '[!"#$%&\'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+'
      },
      'Isolated'),
  byteLevel(false, false)
];
const added = (id, content, o) => Object.assign(
    {
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: false
    },
    o);
const gpt2Added = [
  added(50256, '<|endoftext|>', {special: true}),
  added(50257, '<mask>', {lstrip: true, special: true}),
  added(50258, '[SEP]', {rstrip: true, special: true}),
  added(50259, 'hello', {single_word: true, normalized: true}),
  added(50260, 'WORLD', {normalized: true}),
  added(50261, 'ab', {single_word: true, lstrip: true, rstrip: true}),
  added(50262, '  ', {normalized: false})
];
const spmDecoder = dseq(
    {type: 'Replace', pattern: {String: '\u2581'}, content: ' '}, {type: 'ByteFallback'},
    {type: 'Fuse'}, {type: 'Strip', content: ' ', start: 1, stop: 0});
const metaspace = (scheme, splitOn) =>
    ({type: 'Metaspace', replacement: '\u2581', prepend_scheme: scheme, split: splitOn});

const variants = [
  {variant: 'qwen3', base: 'qwen3', patch: {}},
  {variant: 'gpt2-nfc', base: 'gpt2', patch: {normalizer: {type: 'NFC'}}},
  {
    variant: 'gpt2-nfkc-lowercase',
    base: 'gpt2',
    patch: {normalizer: nseq({type: 'NFKC'}, {type: 'Lowercase'})}
  },
  {
    variant: 'gpt2-nfd-strip-accents-strip',
    base: 'gpt2',
    patch: {
      normalizer: nseq(
          {type: 'NFD'}, {type: 'StripAccents'},
          {type: 'Strip', strip_left: true, strip_right: true})
    }
  },
  {
    variant: 'gpt2-nfkd-replace-prepend',
    base: 'gpt2',
    patch: {
      normalizer: nseq(
          {type: 'NFKD'}, {type: 'Replace', pattern: {Regex: '\\s+'}, content: ' '},
          {type: 'Prepend', prepend: '>'}, {type: 'Strip', strip_left: false, strip_right: true})
    }
  },
  {
    variant: 'gpt2-o200k',
    base: 'gpt2',
    patch: {pre_tokenizer: seq(split({Regex: O200K}, 'Removed', true), byteLevel(false, false))}
  },
  {
    variant: 'gpt2-deepseek-v3',
    base: 'gpt2',
    patch: {
      normalizer: nseq(),
      pre_tokenizer: seq(...DEEPSEEK),
      added_tokens: [
        added(50256, '<|endoftext|>', {special: true}),
        added(50257, '<｜fim▁hole｜>', {normalized: true}),
        added(50258, '<think>', {normalized: true}), added(50259, '<｜tool▁sep｜>', {special: true})
      ]
    }
  },
  {
    variant: 'gpt2-split-behaviors',
    base: 'gpt2',
    patch: {
      pre_tokenizer:
          seq(split({Regex: '\\d+'}, 'MergedWithPrevious'), split({String: ','}, 'MergedWithNext'),
              split({Regex: '\\p{P}'}, 'Contiguous'), split({Regex: '[qxz]'}, 'Removed'),
              byteLevel(false, true))
    }
  },
  {
    variant: 'gpt2-split-invert-isolated',
    base: 'gpt2',
    patch: {
      pre_tokenizer:
          seq(split({Regex: '\\s+|\\p{Lu}'}, 'Isolated', true),
              split({String: 'e'}, 'MergedWithNext', true), byteLevel(true, false))
    }
  },
  {
    variant: 'gpt2-digits-punctuation',
    base: 'gpt2',
    patch: {
      pre_tokenizer:
          seq({type: 'Digits', individual_digits: true},
              {type: 'Punctuation', behavior: 'Isolated'}, byteLevel(false, true))
    }
  },
  {
    variant: 'gpt2-digits-punctuation-merged',
    base: 'gpt2',
    patch: {
      pre_tokenizer:
          seq({type: 'Digits', individual_digits: false},
              {type: 'Punctuation', behavior: 'MergedWithPrevious'}, byteLevel(false, false))
    }
  },
  {
    variant: 'gpt2-whitespace',
    base: 'gpt2',
    patch: {pre_tokenizer: seq({type: 'Whitespace'}, byteLevel(false, false))}
  },
  {
    variant: 'gpt2-whitespace-split-bert',
    base: 'gpt2',
    patch: {
      pre_tokenizer:
          seq({type: 'WhitespaceSplit'}, {type: 'BertPreTokenizer'},
              {type: 'CharDelimiterSplit', delimiter: 'o'}, byteLevel(true, false))
    }
  },
  {
    variant: 'gpt2-added-token-options',
    base: 'gpt2',
    patch: {normalizer: {type: 'Lowercase'}, added_tokens: gpt2Added}
  },
  {
    variant: 'gpt2-unicode-regex',
    base: 'gpt2',
    patch: {
      pre_tokenizer:
          seq(split({Regex: '\\p{Han}+|\\p{Lo}+|\\P{L}+|\\S\\s|\\w+|\\d|\\h+'}, 'Isolated'),
              byteLevel(false, false))
    }
  },
  {
    variant: 'llama2-style',
    base: 'sentencepiece',
    patch: {
      normalizer: nseq(
          {type: 'Prepend', prepend: '\u2581'},
          {type: 'Replace', pattern: {String: ' '}, content: '\u2581'}),
      decoder: spmDecoder
    }
  },
  {
    variant: 'gemma3-style',
    base: 'sentencepiece',
    patch: {
      normalizer: {type: 'Replace', pattern: {String: ' '}, content: '\u2581'},
      pre_tokenizer: split({String: ' '}, 'MergedWithPrevious'),
      decoder: dseq(
          {type: 'Replace', pattern: {String: '\u2581'}, content: ' '}, {type: 'ByteFallback'},
          {type: 'Fuse'}),
      added_tokens: [
        added(0, '<unk>', {special: true}), added(1, '<s>', {special: true}),
        added(2, '</s>', {special: true}), added(100000, '<start_of_turn>', {special: true}),
        added(100001, '\n\n', {}), added(100002, '<end_of_turn>', {special: true})
      ]
    }
  },
  {
    variant: 'metaspace-first-split',
    base: 'sentencepiece',
    patch: {
      pre_tokenizer: metaspace('first', true),
      decoder: dseq({type: 'ByteFallback'}, metaspace('first', true))
    }
  },
  {
    variant: 'metaspace-always-whole',
    base: 'sentencepiece',
    patch: {
      pre_tokenizer: metaspace('always', false),
      decoder: dseq({type: 'ByteFallback'}, {type: 'Fuse'}, metaspace('always', false))
    }
  },
  {
    variant: 'metaspace-never-unk',
    base: 'sentencepiece',
    patch: {
      pre_tokenizer: metaspace('never', true),
      model: {byte_fallback: false, fuse_unk: false},
      decoder: metaspace('never', true)
    }
  },
  {
    variant: 'spm-fused-unk-nfkc',
    base: 'sentencepiece',
    patch: {
      normalizer:
          nseq({type: 'NFKC'}, {type: 'Replace', pattern: {String: ' '}, content: '\u2581'}),
      model: {byte_fallback: false},
      decoder: spmDecoder
    }
  },
  {
    variant: 'spm-no-unk-ignore-merges',
    base: 'sentencepiece',
    patch: {
      pre_tokenizer: metaspace('always', true),
      model: {byte_fallback: false, unk_token: null, ignore_merges: true},
      decoder: metaspace('always', true)
    }
  },
  {variant: 'affix-prefix-suffix', base: 'affix', patch: {}},
  {variant: 'affix-prefix-only', base: 'affix', patch: {model: {end_of_word_suffix: null}}},
];

function build(v, withAdded) {
  const j = JSON.parse(JSON.stringify(bases[v.base]));
  for (const [k, val] of Object.entries(v.patch)) {
    if (k === 'model')
      Object.assign(j.model, val);
    else
      j[k] = val;
  }
  if (!withAdded) j.added_tokens = [];
  return Tokenizer.fromString(JSON.stringify(j));
}

// Texts: the edge cases, documents in several languages (written for these tests), and runs of
// the characters whose normalization forms differ (to check ICU against Hugging Face's tables).
const cases = require('./edge_cases.js').slice();
const documents = [
  [
    'doc-english',
    'The quick brown fox jumps over the lazy dog. Tokenizers split text into pieces; ' +
        'a normalizer first rewrites it (NFKC turns \uFB01 into "fi" and \u2460 into "1").\n\nDon\'t worry — it\'s fine!'
  ],
  [
    'doc-french',
    'L\u2019été dernier, nous sommes allés à Montréal. Ça coûte 12,50 € — très cher ! «\u00A0Voilà\u00A0»'
  ],
  [
    'doc-german',
    'Größenordnung: Die Straße führt über den Fluß. ÄÖÜ äöü ß ẞ. Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich.'
  ],
  ['doc-russian', 'Съешь же ещё этих мягких французских булок, да выпей чаю. Ёлка — 2024 год.'],
  ['doc-greek', 'Ξεσκεπάζω τὴν ψυχοφθόρα βδελυγμία. ΣΊΣΥΦΟΣ σίσυφος ς.'],
  ['doc-arabic', 'نص حكيم له سر قاطع وذو شأن عظيم مكتوب على ثوب أخضر ومغلف بجلد أزرق. ١٢٣٤'],
  ['doc-hebrew', 'דג סקרן שט בים מאוכזב ולפתע מצא חברה.'],
  [
    'doc-hindi',
    'ऋषियों को सताने वाले दुष्ट राक्षसों के राजा रावण का सर्वनाश करने वाले विष्णुवतार भगवान श्रीराम। १२३'
  ],
  ['doc-chinese', '我能吞下玻璃而不伤身体。中文分词很重要：北京大学生前来应聘。２０２４年。'],
  [
    'doc-japanese',
    'いろはにほへと ちりぬるを わかよたれそ つねならむ。カタカナとひらがな、漢字。ｶﾀｶﾅ'
  ],
  ['doc-korean', '키스의 고유조건은 입술끼리 만나야 하고 특별한 기술은 필요치 않다. ㄱㄴㄷ'],
  ['doc-thai', 'เป็นมนุษย์สุดประเสริฐเลิศคุณค่า กว่าบรรดาฝูงสัตว์เดรัจฉาน'],
  [
    'doc-vietnamese',
    'Tiếng Việt có dấu: Trăm năm trong cõi người ta, chữ tài chữ mệnh khéo là ghét nhau.'
  ],
  [
    'doc-code',
    'import numpy as np\n\ndef softmax(x: np.ndarray) -> np.ndarray:\n    """Stable softmax."""\n' +
        '    e = np.exp(x - x.max(axis=-1, keepdims=True))\n    return e / e.sum(axis=-1, keepdims=True)  # \u00B5s\n'
  ],
  [
    'doc-chat',
    '<s>[INST] hello WORLD, what is <mask> here? [/INST] Hello world! [SEP] ab abc ab.</s><start_of_turn>user\n\nhi<end_of_turn>'
  ],
  [
    'doc-added-token-contexts',
    'hello hellohello xhello hello_ <mask>  <mask> [SEP]  x  ab ab, (ab) <think></think> <｜fim▁hole｜> world WORLD <|endoftext|>'
  ],
];
cases.push(...documents);
{
  const differing = {NFC: [], NFKC: [], NFD: []};
  for (let c = 0xA0; c < 0x30000; c++) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    const ch = String.fromCodePoint(c);
    for (const form of Object.keys(differing))
      if (ch.normalize(form) !== ch) differing[form].push(ch);
  }
  for (const [form, chars] of Object.entries(differing)) {
    for (let i = 0; i < chars.length; i += 400)
      cases.push([`normalization-${form}-${i / 400}`, chars.slice(i, i + 400).join(' ')]);
  }
  // Hangul syllables and jamo, and canonical reordering of combining marks.
  cases.push(
      ['normalization-hangul', '\u1100\u1161\u11A8 \uAC00\u11A8 \u1112\u1173\u11AF \uD55C\uAE00']);
  cases.push([
    'normalization-reorder',
    'a\u0323\u0301 a\u0301\u0323 q\u0307\u0323 \u1E0B\u0323 \u0041\u030A\u0301'
  ]);
}

(async () => {
  const out = [];
  for (const [name, text] of cases) out.push(JSON.stringify({case: name, text}));
  for (const v of variants)
    out.push(JSON.stringify({variant: v.variant, base: v.base, patch: v.patch}));
  for (const v of variants) {
    const withAdded = build(v, true), ordinary = build(v, false);
    const hasDecoder = (v.patch.decoder ?? bases[v.base].decoder) != null;
    const hasNormalizer = (v.patch.normalizer ?? bases[v.base].normalizer) != null;
    for (const [name, text] of cases) {
      if (name.startsWith('normalization-') && !hasNormalizer) continue;  // only where it tells
      const special = (await withAdded.encode(text, null, {addSpecialTokens: false})).getIds();
      const plain = (await ordinary.encode(text, null, {addSpecialTokens: false})).getIds();
      const decoded = hasDecoder ? await withAdded.decode(special, false) : null;
      out.push(JSON.stringify({variant: v.variant, case: name, ordinary: plain, special, decoded}));
    }
  }
  process.stdout.write(out.join('\n') + '\n');
})();
