/**
 * Letters from other scripts that render like Latin ones, folded to ASCII so
 * `ghр_...` (Cyrillic `р`) reads as `ghp_...`. NFKC already folds fullwidth
 * forms, mathematical alphanumerics, circled and super/subscript letters;
 * this table covers what NFKC leaves alone: Cyrillic, Greek, Armenian,
 * Cherokee, Latin variants (letters with a stroke or bar among them), and
 * the dashes, dots, underscores, slashes and colons that stand in for a
 * token's separators (`sk–ant–api03–...` with en dashes). Only look-alikes
 * close enough to fool a reader are listed; folding more would not find
 * more secrets, only mangle the text that surrounds them.
 */
const PAIRS: readonly (readonly [string, string])[] = [
  // Cyrillic
  ['а', 'a'], ['е', 'e'], ['і', 'i'], ['ј', 'j'], ['к', 'k'], ['о', 'o'], ['р', 'p'], ['с', 'c'], ['у', 'y'], ['х', 'x'],
  ['ѕ', 's'], ['ԁ', 'd'], ['ԛ', 'q'], ['ԝ', 'w'], ['һ', 'h'], ['ӏ', 'l'], ['ү', 'y'], ['ɡ', 'g'],
  ['А', 'A'], ['В', 'B'], ['Е', 'E'], ['К', 'K'], ['М', 'M'], ['Н', 'H'], ['О', 'O'], ['Р', 'P'], ['С', 'C'], ['Т', 'T'],
  ['Х', 'X'], ['У', 'Y'], ['Ѕ', 'S'], ['І', 'I'], ['Ј', 'J'], ['Ԛ', 'Q'], ['Ԝ', 'W'], ['Һ', 'H'], ['Ӏ', 'I'], ['Ү', 'Y'],
  // Greek
  ['Α', 'A'], ['Β', 'B'], ['Ε', 'E'], ['Ζ', 'Z'], ['Η', 'H'], ['Ι', 'I'], ['Κ', 'K'], ['Μ', 'M'], ['Ν', 'N'], ['Ο', 'O'],
  ['Ρ', 'P'], ['Τ', 'T'], ['Υ', 'Y'], ['Χ', 'X'], ['Ϲ', 'C'], ['Ϳ', 'J'],
  ['α', 'a'], ['ε', 'e'], ['ι', 'i'], ['κ', 'k'], ['ν', 'v'], ['ο', 'o'], ['ρ', 'p'], ['τ', 't'], ['υ', 'u'], ['χ', 'x'],
  ['ϲ', 'c'], ['ϳ', 'j'],
  // Armenian
  ['օ', 'o'], ['ս', 'u'], ['հ', 'h'], ['ո', 'n'], ['ց', 'g'], ['զ', 'q'],
  // Cherokee capitals
  ['Ꭺ', 'A'], ['Ᏼ', 'B'], ['Ꮯ', 'C'], ['Ꭼ', 'E'], ['Ꮋ', 'H'], ['Ꭻ', 'J'], ['Ꮶ', 'K'], ['Ꮮ', 'L'], ['Ꮇ', 'M'], ['Ꮲ', 'P'],
  ['Ꮪ', 'S'], ['Ꭲ', 'T'], ['Ꮃ', 'W'], ['Ꮓ', 'Z'],
  // Latin variants NFKC keeps
  ['ı', 'i'], ['ȷ', 'j'], ['ɑ', 'a'], ['ɩ', 'i'], ['ʏ', 'y'], ['ᴅ', 'd'], ['ĸ', 'k'], ['ŋ', 'n'], ['Ŋ', 'N'],
  // Latin letters with a stroke or bar, which decomposition leaves whole
  ['ø', 'o'], ['Ø', 'O'], ['đ', 'd'], ['Đ', 'D'], ['Ð', 'D'], ['ł', 'l'], ['Ł', 'L'], ['ħ', 'h'], ['Ħ', 'H'], ['ŧ', 't'],
  ['Ŧ', 'T'], ['ƀ', 'b'], ['Ƀ', 'B'], ['ƶ', 'z'], ['Ƶ', 'Z'], ['ǥ', 'g'], ['Ǥ', 'G'], ['ɨ', 'i'], ['Ɨ', 'I'], ['ʉ', 'u'],
  ['Ʉ', 'U'], ['ɏ', 'y'], ['Ɏ', 'Y'], ['ɍ', 'r'], ['Ɍ', 'R'], ['ɇ', 'e'], ['Ɇ', 'E'], ['ȼ', 'c'], ['Ȼ', 'C'], ['ɉ', 'j'],
  ['Ɉ', 'J'], ['ƚ', 'l'], ['ɵ', 'o'], ['Ɵ', 'O'], ['ᵽ', 'p'], ['Ᵽ', 'P'], ['ꝁ', 'k'], ['Ꝁ', 'K'],
  // Dashes, slashes and a colon NFKC keeps: the separators of most token formats (`sk-ant-`, `xoxb-`, `glpat-`, URLs)
  ['\u2010', '-'], ['\u2011', '-'], ['\u2012', '-'], ['\u2013', '-'], ['\u2014', '-'], ['\u2015', '-'], ['\u2043', '-'],
  ['\u2212', '-'], ['\u02D7', '-'], ['\u2796', '-'], ['\u2E3A', '-'], ['\u2E3B', '-'], ['\u058A', '-'],
  ['\u2044', '/'], ['\u2215', '/'], ['\u29F8', '/'], ['\u2236', ':'], ['\uA789', ':'],
  // Dots (a JWT's separators) and underscores (`sk_live_`, `npm_`); the combining low line underlines the
  // character before it, where the underscore would sit, and NFKC would turn U+2017 into a space and a mark.
  ['\u00B7', '.'], ['\u2027', '.'], ['\u2219', '.'], ['\u22C5', '.'], ['\u30FB', '.'], ['\u3002', '.'],
  ['\u02CD', '_'], ['\u2017', '_'], ['\u0332', '_'],
]

const TABLE = new Map<string, string>(PAIRS)
const ANY = new RegExp(`[${PAIRS.map(([from]) => from).join('')}]`, 'g')

/**
 * Replace every listed look-alike with its ASCII character. Normalization
 * runs it before Unicode folding as well as after: folding would drop the
 * combining low line and split U+2017, and it leaves the others alone.
 */
export function foldConfusables(text: string): string {
  return text.replace(ANY, (ch) => TABLE.get(ch) ?? ch)
}
