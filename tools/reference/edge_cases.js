// The edge-case texts the reference generators encode: every general category between letters,
// digits, spaces and punctuation; whitespace, contractions, digits of many scripts, emoji,
// combining marks, four-byte characters, special-token strings, very long words, code, empty
// texts and a deterministic fuzz. Exports [[name, text], ...]. Development tool only.
// Edge-case texts.
const cases = [];
const add = (name, text) => cases.push([name, text]);
// A sample of every general category, between letters, digits, spaces and punctuation.
const categories = [
  'Lu', 'Ll', 'Lt', 'Lm', 'Lo', 'Mn', 'Mc', 'Me', 'Nd', 'Nl', 'No', 'Pc', 'Pd', 'Ps',
  'Pe', 'Pi', 'Pf', 'Po', 'Sm', 'Sc', 'Sk', 'So', 'Zs', 'Zl', 'Zp', 'Cc', 'Cf', 'Co'
];
for (const cat of categories) {
  const re = new RegExp(`^\\p{${cat}}$`, 'u');
  const chars = [];
  for (let c = 0; c < 0x110000 && chars.length < 4000; c++) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    const ch = String.fromCodePoint(c);
    if (re.test(ch)) chars.push(ch);
  }
  const step = Math.max(1, Math.floor(chars.length / 60));
  const picked = chars.filter((_, i) => i % step === 0).slice(0, 60);
  const contexts = ['a', ' ', '1', '!', '\'', '\n', '  ', 'Z9'];
  let text = '';
  picked.forEach((ch, i) => {
    text += contexts[i % contexts.length] + ch + ch + contexts[(i * 3 + 1) % contexts.length];
  });
  add(`category-${cat}`, text);
}
add('whitespace-runs',
    'a  b   c\t\td\r\ne\r\n\r\nf \n g  \n\n  h\u00A0i\u3000j \u3000 k\u2028l\u2029m\u0085n\u000Bo\u000Cp   ');
add('trailing-spaces', 'def f():    \n    return 1    ');
add('long-space-runs',
    ' '.repeat(1000) + 'x' +
        '\t'.repeat(300) + '\n'.repeat(200) + ' \n'.repeat(100) + 'end' +
        ' '.repeat(500));
add('crlf-mixtures', 'a\r\rb\n\rc\r\n\r\n d \r\n\tx\r');
add('contractions',
    'I\'m you\'re he\'s she\'d we\'ll they\'ve it\'s don\'t I\'M YOU\'RE HE\'S WE\'LL THEY\'VE IT\'S DON\'T ' +
        '\'s \'t \'re \'ve \'m \'ll \'d \'S \'T \'RE \'Ve \'M \'lL \'D it\'ſ IT\'ſ \'\'s \' s \'\u017F x\'');
add('digits-of-many-scripts',
    '0123456789 ١٢٣٤ ۱۲۳ १२३४ ১২৩ ੧੨ ௧௨௩ ౧౨ ೧೨ ൧൨ ๑๒๓ ໑໒ ༡༢ ၁၂ ១២ ᠑᠒ ０１２ 𝟎𝟏𝟐 Ⅻⅻ ½¾ ²³ ① 〇 12345678 1,234.56 3.14e-10');
add('emoji',
    'hi 👋🏽 family 👨‍👩‍👧‍👦 flag 🇫🇷 heart ❤️ keycap 1️⃣ skin 👍🏿👍🏻 zwj 🧑‍💻 text😀😀end');
add('combining-marks',
    'e\u0301 cafe\u0301 n\u0303 a\u0308\u0304 \u0301start Z\u0351\u0352\u0353 क्षि अं ก่ 한국어 한');
add('four-byte', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠀀𠀁 𐍈𐌰 𝕏 🀄 𓀀𓀁 x𝔘1𝟏');
add('special-tokens-in-text',
    'a<|endoftext|>b <|endoftext|> <|endoftext|><|endoftext|>x<|endoftext|' +
        ' <|endoftext|>\n<|endoftext|> <|endofte xt|> <|ENDOFTEXT|>');
add('very-long-word',
    'a'.repeat(5000) + ' ' +
        'Supercalifragilistic'.repeat(200) + ' ' +
        'aGVsbG8gd29ybGQ'.repeat(300) + ' ' +
        '0123456789'.repeat(100));
add('long-punctuation',
    '!'.repeat(3000) + ' ' +
        '=-'.repeat(1000) + ' ...' +
        '.'.repeat(777));
add('mixed-scripts',
    'Привет мир Γειά σου κόσμε مرحبا بالعالم שלום עולם 你好世界 こんにちは世界 안녕하세요 Xin chào ສະບາຍດີ');
add('code',
    'def f(x: int) -> int:\n    """Doc."""\n    return x**2 + 1  # comment\n\nclass A(B):\n\tpass\n');
add('empty', '');
add('single-space', ' ');
add('only-newlines', '\n\n\n');
// Deterministic fuzz: random strings over a pool of tricky characters.
const pool = Array.from(
    'aZ9 \t\n\r\'sSmLlTtdDrRvVeE_-!?.,;:()[]{}<>|/\\"\u00A0\u3000\u2028\u0085\u200B\u200D' +
    'é\u0301ß\u017F٣१Ⅻ½²😀👍🏽‍🇫𝔘𠀀あ한中ΣσЖ\u00AD\uFEFF\u061C\u0300');
let seed = 12345;
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed;
};
for (let k = 0; k < 300; k++) {
  const len = 1 + rand() % 40;
  let s = '';
  for (let i = 0; i < len; i++) s += pool[rand() % pool.length];
  add(`fuzz-${k}`, s);
}

module.exports = cases;
