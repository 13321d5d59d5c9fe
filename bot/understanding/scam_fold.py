"""Undo the disguises scam messages use to slip past filters, before the rules read them.

Scammers write "B/I/S/P", "Ehsaas.program.ki.taraf", "0ffce C0mp1aint", "Rs.450O0",
"Gfts", "rbta kre", Cyrillic letters in Latin words. `unmask` folds these back, token by
token, leaving web addresses as written (the link rules need them). Word spellings come
from the rules file: each canonical word with its variants, also matched by their consonant
skeleton ("mubarik", "mubarek", "mbrk" are all "mubarak")."""

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
