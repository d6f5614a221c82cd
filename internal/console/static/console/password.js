// @ts-check
// The password policy of the hidden Windows account, the same rules the server checks
// (internal/session PasswordProblem): at least 12 characters, at most 127 bytes, no
// control characters, three of four character classes, and not containing the hidden
// account's user name. The browser test compares both on the same table.

const upper = /\p{Lu}/u;
const lower = /\p{Ll}/u;
const digit = /\p{Nd}/u;
// Go's unicode.IsControl: the C0 and C1 control characters.
const control = /[\u0000-\u001f\u007f-\u009f]/u;

/**
 * Check is each rule's state, and whether the password passes them all (ok).
 * @typedef {object} Check
 * @property {number} length characters (code points)
 * @property {boolean} lengthOk
 * @property {boolean} maxOk at most 127 bytes in UTF-8
 * @property {boolean} controlOk
 * @property {number} classes of upper, lower, digit, other
 * @property {boolean} classesOk
 * @property {boolean} nameOk
 * @property {boolean} ok
 */

/**
 * checkPassword returns each rule's state and whether the password passes.
 * @param {string} pw
 * @param {string} username the hidden account's name; "" checks no name
 * @returns {Check}
 */
export function checkPassword(pw, username) {
  const chars = Array.from(pw);
  let u = false, l = false, d = false, o = false;
  for (const c of chars) {
    if (control.test(c)) continue;
    if (upper.test(c)) u = true;
    else if (lower.test(c)) l = true;
    else if (digit.test(c)) d = true;
    else o = true;
  }
  const classes = [u, l, d, o].filter(Boolean).length;
  /** @type {Check} */
  const r = {
    ok: false,
    length: chars.length,
    lengthOk: chars.length >= 12,
    maxOk: new TextEncoder().encode(pw).length <= 127,
    controlOk: !control.test(pw),
    classes,
    classesOk: classes >= 3,
    nameOk: !username || !pw.toLowerCase().includes(username.toLowerCase()),
  };
  r.ok = r.lengthOk && r.maxOk && r.controlOk && r.classesOk && r.nameOk;
  return r;
}

// Characters that are easy to read out and to type on English and German keyboards:
// no 0/O, 1/l/I, no y/z (swapped between the layouts), no quotes or spaces.
const sets = [
  "ABCDEFGHJKLMNPQRSTUVWX",
  "abcdefghijkmnopqrstuvwx",
  "23456789",
  "!#%+-=?@*",
];

/**
 * randomInt returns a uniform integer in [0, n) from the browser's CSPRNG.
 * @param {number} n
 */
function randomInt(n) {
  const limit = Math.floor(0x100000000 / n) * n; // reject the biased tail
  const buf = new Uint32Array(1);
  for (;;) {
    crypto.getRandomValues(buf);
    if (buf[0] < limit) return buf[0] % n;
  }
}

/**
 * generatePassword makes a 16-character password with all four classes that passes the policy.
 * @param {string} username the hidden account's name, which the password must not contain
 * @param {number} [length]
 */
export function generatePassword(username, length = 16) {
  const all = sets.join("");
  for (;;) {
    const chars = sets.map((s) => s[randomInt(s.length)]);
    while (chars.length < length) chars.push(all[randomInt(all.length)]);
    for (let i = chars.length - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      [chars[i], chars[j]] = [chars[j], chars[i]];
    }
    const pw = chars.join("");
    if (checkPassword(pw, username).ok) return pw;
  }
}
