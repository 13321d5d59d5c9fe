"""Undo the disguises scam messages use to slip past filters, before the rules read them.

Two steps. `undisguise` works on the raw text, before anything else reads it: invisible
fillers after each letter (Hangul fillers, zero-width spaces), letters spaced out or split by
middle dots or Braille blanks ("b i s p", "b·i·s·p"), Cyrillic or Greek letters inside Latin
words, a link whose official-looking start is only its user name
(`https://jazzcash.com.pk@evil.top/x` goes to evil.top), part headers of a message sent in
several SMS ("(1/2)"). Two of these no genuine sender does, so they are reported as marks,
words the rules and the model read like any other (`MIXED_SCRIPT`, `LINK_USERINFO`).

Then `unmask` folds spellings on the normalised text: "B/I/S/P", "Ehsaas.program.ki.taraf",
"0ffce C0mp1aint", "Rs.450O0", "Rs l0,000", "Gfts", "rbta kre", token by token, leaving web
addresses as written (the link rules need them). Word spellings come from the rules file:
each canonical word with its variants, also matched by their consonant skeleton ("mubarik",
"mubarek", "mbrk" are all "mubarak")."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

# Cyrillic and Greek letters that look like Latin ones (the common confusables).
HOMOGLYPHS = str.maketrans({
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ӏ": "l",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S",
    "α": "a", "ο": "o", "ρ": "p", "ν": "v", "ι": "i", "κ": "k", "τ": "t", "υ": "u",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
})
# Cyrillic and Greek letters, for telling a word that mixes them with Latin ones.
_CYRILLIC_GREEK = "[\u0370-\u03ff\u0400-\u04ff\u0500-\u052f]"
_MIXED_WORD = re.compile(rf"[a-zA-Z][^\W\d_]*{_CYRILLIC_GREEK}|{_CYRILLIC_GREEK}[^\W\d_]*[a-zA-Z]")
MIXED_SCRIPT = "mixedscript"  # the mark of a word written in two alphabets at once
LINK_USERINFO = "linkuserinfo"  # the mark of a link whose start is only a user name
# Invisible characters put after each letter: Hangul fillers, zero-width space and joiner,
# word joiner and invisible operators, BOM, soft hyphen, Mongolian vowel separator, Khmer
# inherent vowels. (The zero-width non-joiner stays: Urdu text uses it.)
_INVISIBLE = dict.fromkeys(map(ord, "\u3164\uffa0\u115f\u1160\u200b\u200d\u2060\u2061\u2062\u2063"
                                    "\u2064\ufeff\u00ad\u034f\u180e\u17b4\u17b5"))
# Blanks and dots put between letters: Braille blank, ideographic and other odd spaces, middle
# dots and bullets.
_SPACERS = str.maketrans({**dict.fromkeys("\u2800\u3000\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
                                          "\u2007\u2008\u2009\u200a\u202f\u205f\u00a0", " "),
                          **dict.fromkeys("\u00b7\u2027\u2022\u2219\u30fb\uff65\u0387\u22c5", ".")})
# Three or more single letters each followed by one space: "c o n g r a t s". Words of the
# spaced text are kept apart by two spaces or more, which end a run.
_SPACED_LETTERS = re.compile(r"(?<![^\s])(?:[^\W\d_] ){2,}[^\W\d_](?![^\s])")
# A link's user name: after the scheme, or a domain-like name right before an @ and a host.
_USERINFO = re.compile(r"(?i)(?<=://)[^\s/@]{1,200}@(?=[a-z0-9-])|"
                       r"(?<![\w.@-])(?:[a-z0-9-]{1,63}\.){1,8}(?:com|pk|net|org|gov|edu|info|io|co)@(?=[a-z0-9-]+\.)")
# The header of one part of a message sent in several: "(1/2)", "[2/3]", "part 1 of 2", "contd".
_PART_HEADER = re.compile(r"(?i)[(\[]\s?\d\s?/\s?\d\s?[)\]]|\bpart\s?\d\s?(?:/|of)\s?\d\b|"
                          r"\bcont(?:'?d|inued)\b\.*")
# What each pass of `undisguise` cannot find without, searched first (scanned in C; the passes
# themselves are tried at every position): a character it folds, a Cyrillic or Greek letter,
# the "/", "part" or "cont" every part header holds, a single letter between two spaces.
_SPACING_CHAR = re.compile("[" + "".join(map(re.escape, map(chr, {*_INVISIBLE, *_SPACERS}))) + "]")
_CYRILLIC_GREEK_CHAR = re.compile(_CYRILLIC_GREEK)
_HOMOGLYPH_CHAR = re.compile("[" + "".join(map(re.escape, map(chr, HOMOGLYPHS))) + "]")
_PART_HINT = re.compile(r"(?i)/|part|cont")
_SPACED_HINT = re.compile(r" [^\W\d_] ")
TLDS = ("com|net|org|info|xyz|top|online|site|club|click|link|live|shop|store|app|icu|buzz|cc|tk|ml|"
        "ga|cf|gq|io|co|biz|vip|win|support|help|services|pk|uk|ly|gd|gy|at|me|in")
# A token that is (or holds) a web address: kept exactly as written.
_ADDRESS = re.compile(rf"https?://|www\.|(?:[a-z0-9-]+\.)+(?:{TLDS})(?![a-z])|[a-z0-9-]+\.[a-z]{{2,}}/")
# Single letters split by slashes or dots: "b/i/s/p", "b.i.s.p".
_SPLIT_LETTERS = re.compile(r"(?<![a-z0-9])[a-z](?:[/.][a-z]){2,}(?![a-z0-9])")
# Words run together with dots: "ehsaas.program.ki.taraf", "ho.gift".
_DOTTED_WORDS = re.compile(r"(?<=[a-z\])])\.(?=[a-z]{2})")
# Urdu words run together or split by dots or slashes: "بی.آئی.ایس.پی".
_URDU_DOTS = re.compile(r"(?<=[\u0600-\u06ff])[./](?=[\u0600-\u06ff])")
# Digits standing for letters inside a word: "c0mp1aint", "bl0ck", "0ffce", "welc0me".
_LEET_INSIDE = re.compile(r"(?<=[a-z])[013457@$](?=[a-z])")
_LEET_FIRST = re.compile(r"(?<![\w])0(?=[a-z]{2,})")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
# Letter O among the digits of an amount: "450o0", "75,6oo".
_O_IN_NUMBER = re.compile(r"(?<=[\d,])o+(?=[\d,o]*(?:\d|\b))|(?<![a-z])o+(?=\d)")
# Letter l among the digits of an amount: "rs l0,000", "1l,500" (and i between digits: "5i0").
_L_IN_NUMBER = re.compile(r"(?<=[\d,])l(?=[\d,l]*\d)|(?<![a-z])l(?=\d)|(?<=\d)i(?=\d)")
_LATIN_WORD = re.compile(r"[a-z]+")
_VOWELS = re.compile(r"[aeiouy]")
_REPEAT = re.compile(r"(.)\1+")
_PERSONAL = re.compile(r"[\d@]").search
MIN_SKELETON = 3  # shorter skeletons ("nm" for inaam) would catch unrelated words
MAX_TOKEN = 80  # longer runs are no disguised word (and would cost quadratic time): kept as written
# Folded words remembered (words repeat across messages), then the memory starts over. Tokens
# with a digit or an @ are not kept: numbers, codes and addresses seldom repeat, are personal,
# and at 50,000 of them the cache held 7 MB of the web service's 120.
CACHE_SIZE = 8192


def skeleton(word: str) -> str:
    """The word's consonants, doubled ones once: "mubarik" and "mbrk" are both "mbrk"."""
    return _REPEAT.sub(r"\1", _VOWELS.sub("", word))


class Spelling:
    """Canonical words for their variant and vowel-less spellings."""

    def __init__(self, words: Mapping[str, Iterable[str]]):
        self.exact: dict[str, str] = {}
        self.skeletons: dict[str, str] = {}
        clashes: set[str] = set()
        for canonical, variants in words.items():
            for word in (canonical, *variants):
                self.exact[word] = canonical
                key = skeleton(word)
                if len(key) >= MIN_SKELETON:
                    if self.skeletons.get(key, canonical) != canonical:
                        clashes.add(key)
                    self.skeletons[key] = canonical
        for key in clashes:  # a skeleton two words share decides nothing
            del self.skeletons[key]
        self.folded: dict[str, str] = {}  # token -> unmasked token

    def word(self, word: str) -> str:
        found = self.exact.get(word)
        if found is None:
            found = self.skeletons.get(skeleton(word), word) if len(word) > 2 else word
        return found

    def fold(self, token: str) -> str:
        return _LATIN_WORD.sub(lambda m: self.word(m.group()), token)


def _unmask_token(token: str, spelling: Spelling) -> str:
    if len(token) > MAX_TOKEN or _ADDRESS.search(token):
        return token
    token = _SPLIT_LETTERS.sub(lambda m: re.sub(r"[/.]", "", m.group()), token)
    token = _O_IN_NUMBER.sub(lambda m: "0" * len(m.group()), token)
    token = _L_IN_NUMBER.sub("1", token)
    token = _LEET_FIRST.sub("o", token)
    token = _LEET_INSIDE.sub(lambda m: m.group().translate(_LEET), token)
    token = _LEET_INSIDE.sub(lambda m: m.group().translate(_LEET), token)  # "c0mp1" has two in a row
    token = _DOTTED_WORDS.sub(" ", _URDU_DOTS.sub(" ", token))
    return spelling.fold(token)


def unmask(text: str, spelling: Spelling) -> str:
    """Normalised (lower-case) `text` with its disguises folded, word by word."""
    cache = spelling.folded
    if len(cache) > CACHE_SIZE:
        cache.clear()
    out = []
    for token in text.split():
        folded = cache.get(token)
        if folded is None:
            folded = _unmask_token(token, spelling)
            if not _PERSONAL(token):
                cache[token] = folded
        out.append(folded)
    return " ".join(out)


def undisguise(text: str) -> tuple[str, tuple[str, ...]]:
    """The raw text with its disguises undone, and the marks of those no genuine sender uses
    (see the module's docstring). Case is kept; normalising comes after."""
    marks = []
    # each pass only where what it undoes can be: most messages have none of it
    if not text.isascii():
        if _SPACING_CHAR.search(text):
            text = text.translate(_INVISIBLE).translate(_SPACERS)
        if _CYRILLIC_GREEK_CHAR.search(text) and _MIXED_WORD.search(text):
            marks.append(MIXED_SCRIPT)
        if _HOMOGLYPH_CHAR.search(text):
            text = text.translate(HOMOGLYPHS)
    if "@" in text:
        text, found = _USERINFO.subn("", text)
        if found:
            marks.append(LINK_USERINFO)
    if _PART_HINT.search(text):
        text = _PART_HEADER.sub(" ", text)
    if _SPACED_HINT.search(text):
        text = _SPACED_LETTERS.sub(lambda m: m.group().replace(" ", ""), text)
    return text, tuple(marks)
