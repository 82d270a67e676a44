// Writes tests/OlmoeSharp.Tests/Tokenization/Data/reference-cases.jsonl.gz: encode and decode expectations produced
// by the reference implementation itself (Hugging Face tokenizers, Rust, through its Node.js binding), for inputs
// chosen to reach every corner the public sample may miss: random text over all planes, every combining mark and
// canonical composition of the UCD (the reference normalizes with Unicode 9.0 data), a sweep of code points between
// letters and digits (its regex classes are Unicode 16.0), white-space runs, added-token text, and random id
// sequences with broken UTF-8 for decoding.
//
// Usage (from the repository root; needs Node.js, the npm package and Debian's unicode-data):
//   npm install --prefix /tmp/hf-tokenizers tokenizers@0.23.2
//   NODE_PATH=/tmp/hf-tokenizers/node_modules node tools/reference/make-reference-cases.js \
//     ../shared/tokenizers/allenai_gpt-neox-olmo-dolma-v1_5.json /usr/share/unicode
const fs = require('fs');
const zlib = require('zlib');
const { Tokenizer } = require('tokenizers');

const [tokenizerPath, ucd] = process.argv.slice(2);
const output = 'tests/OlmoeSharp.Tests/Tokenization/Data/reference-cases.jsonl.gz';

// mulberry32: a small seeded generator, so the inputs are the same on every run.
let seed = 20240903;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const pick = (items) => items[int(0, items.length - 1)];

function anyScalar() {
  for (;;) {
    const r = random();
    const cp = r < 0.5 ? int(0x20, 0x7e) : r < 0.7 ? int(0x80, 0x7ff) : r < 0.85 ? int(0x800, 0xffff) : int(0x10000, 0x10ffff);
    if (cp < 0xd800 || cp > 0xdfff) return String.fromCodePoint(cp);
  }
}

const fragments = [
  ' ', '  ', '   ', '    ', ' '.repeat(24), ' '.repeat(25), ' '.repeat(49), '\t', '\n', '\n\n', '\r\n', '\u00a0', '\u3000',
  '\u2028', '\u0085', '\x0b', '\x0c', '\x1c', '\u200b', '\u180e', '\u2009', "'s", "'t", "'re", "'ve", "'m", "'ll", "'d",
  "'S", "'RE", " 's", "''s", "'", '\u2019s', "don't", "I'm", '<|endoftext|>', '<|padding|>', '<|endoftext',
  '|||IP_ADDRESS|||', '|||EMAIL_ADDRESS|||', '|||PHONE_NUMBER|||', '||', '|||', '<|', '|>', 'e\u0301', 'a\u0308',
  '\u1100\u1161\u11a8', '\u0915\u093c', '\u0958', '\u212b', '>\u0338', '\u0301', 'Hello', ' world', '123', '1,234.56',
  '\u0663\u0664', '\u00b2\u00b3', '\u216b', '\u00bd', '\u{1d400}', '\u{1f600}', '\u{1f9d1}\u{1f3ff}\u200d\u{1f4bb}',
  '\u2764\ufe0f', '\u{1f1fa}\u{1f1f8}', '\u4e2d\u6587', '\ud55c\uad6d\uc5b4', '\u041f\u0440\u0438\u0432\u0435\u0442',
  '\u0645\u0631\u062d\u0628\u0627', '\u0928\u092e\u0938\u094d\u0924\u0947', '\u01c5', '\ufb01', '\uff21', '\uff76\uff80',
  'def f(x):\n    return x\n', 'https://example.com/a?b=c&d=e#f', 'user@example.com', '{}', '!!!', '...', '\u2014',
  '\x00', '\x7f', '\ufffd', '\ufeff',
];

function randomText() {
  let text = '';
  for (let parts = int(1, 20); parts > 0; parts--) {
    const r = random();
    if (r < 0.45) text += pick(fragments);
    else if (r < 0.65) text += anyScalar();
    else if (r < 0.75) text += String.fromCodePoint(int(0x300, 0x36f));
    else if (r < 0.85) text += pick([' ', '\t', '\n', '\u00a0']).repeat(int(1, 30));
    else for (let n = int(1, 12); n > 0; n--) text += pick("abcXYZ019 ,.'");
  }
  return text;
}

const texts = [];
for (let i = 0; i < 2000; i++) texts.push(randomText());

// Every non-starter after a mark it must (or, if the reference does not know it, must not) be reordered with,
// and every canonical pair, composed alone and across a blocking or non-blocking mark.
for (const line of fs.readFileSync(`${ucd}/UnicodeData.txt`, 'utf8').split('\n')) {
  const fields = line.split(';');
  if (fields.length < 6) continue;
  const c = String.fromCodePoint(parseInt(fields[0], 16));
  const ccc = parseInt(fields[3], 10);
  if (ccc !== 0) texts.push(ccc < 230 ? `x\u0301${c}` : `x${c}\u0316`);
  const parts = fields[5].split(' ');
  if (fields[5] && !fields[5].startsWith('<') && parts.length === 2) {
    const [a, b] = parts.map((h) => String.fromCodePoint(parseInt(h, 16)));
    texts.push(`x${a}${b}`, `${a}\u0316${b}`);
  }
}

// A sweep of code points between letters and between digits: shows which ones the regex counts as \p{L} or \p{N}.
for (let cp = 0xa0; cp < 0x110000; cp += 173) {
  if (cp >= 0xd800 && cp <= 0xdfff) continue;
  texts.push(`a${String.fromCodePoint(cp)}a1${String.fromCodePoint(cp)}1`);
}

const idLists = [];
for (let i = 0; i < 1000; i++) {
  const ids = [];
  for (let n = int(0, 12); n > 0; n--) {
    const r = random();
    ids.push(r < 0.4 ? int(0, 255) : r < 0.5 ? int(50250, 50303) : r < 0.55 ? int(0, 1) : int(0, 50279));
  }
  idLists.push(ids);
}

(async () => {
  const tokenizer = Tokenizer.fromFile(tokenizerPath);
  const lines = [];
  for (const text of texts) {
    const encoding = await tokenizer.encode(text, null, { addSpecialTokens: false });
    lines.push(JSON.stringify({ text, ids: Array.from(encoding.getIds()) }));
  }
  for (const ids of idLists) {
    lines.push(JSON.stringify({
      ids, decode: await tokenizer.decode(ids, false), decode_skip_special: await tokenizer.decode(ids, true),
    }));
  }
  fs.writeFileSync(output, zlib.gzipSync(lines.join('\n') + '\n', { level: 9 }));
  console.log(`${lines.length} cases written to ${output}`);
})();
