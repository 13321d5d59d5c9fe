"""Text normalisation and language detection for English, Urdu script and Roman Urdu."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

LANGS = ("en", "roman_ur", "ur")

# Arabic letter forms that Urdu keyboards and copy-paste often produce, folded to Urdu ones.
LETTERS = str.maketrans(
    {
        "\u064a": "\u06cc",  # ي -> ی
        "\u0649": "\u06cc",  # ى -> ی
        "\u0643": "\u06a9",  # ك -> ک
        "\u0647": "\u06c1",  # ه -> ہ
        "\u0629": "\u06c1",  # ة -> ہ
        "\u06d5": "\u06c1",  # ە -> ہ
    }
)
# Urdu (extended Arabic-Indic) and Arabic-Indic digits to ASCII.
DIGITS = str.maketrans(
    {**{chr(0x06F0 + i): str(i) for i in range(10)}, **{chr(0x0660 + i): str(i) for i in range(10)}}
)
# The local part and the host label are bounded (RFC 5321 allows 64 and 63 characters): an
# unbounded run is tried from every position of a long word, which took seconds on 30 KB.
EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]{1,63}\.(?:ly|com|pk|xyz|net|org|io|info|top|site|online)/\S*",
                 re.IGNORECASE)
# Emails, links and long digit runs stand for what they are when matching ("was <email> leaked").
_STAND_INS = ((EMAIL, " email "), (URL, " link "), (re.compile(r"\+?\d[\d\s-]{6,}\d"), " number "))
# What each stand-in's pattern cannot match without (most messages have none of them): the
# patterns are not tried then, which saves their backtracking over every word.
_NEEDS = (lambda t: "@" in t, lambda t: "/" in t or "." in t, lambda t: _DIGIT.search(t) is not None)
_DIGIT = re.compile(r"\d")
# The stand-ins have no language of their own: neither has what they stand for.
_NEUTRAL = frozenset(stand_in.strip() for _, stand_in in _STAND_INS)
_NOT_WORD = re.compile(r"[\W_]+")
_REPEATS = re.compile(r"(\D)\1{2,}")
_URDU_LETTER = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN_LETTER = re.compile(r"[a-zA-Z]")


def strip_marks(text: str) -> str:
    """Drop diacritics (Urdu zer/zabar/pesh, hamza marks, Latin accents) and invisible joiners."""
    if text.isascii():  # ASCII has no marks, no joiners and nothing to decompose
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    kept = (c for c in decomposed if unicodedata.category(c) not in ("Mn", "Cf") and c != "\u0640")
    return unicodedata.normalize("NFC", "".join(kept))


class Normaliser:
    """Folds the many ways people write the same words into one form.

    `spelling` maps a canonical Latin word to its variants ("kaise": ["kese", "kesay"]);
    `roman_words` is the Roman Urdu vocabulary used to tell Roman Urdu from English;
    `shared_words` are words English and Roman Urdu both use (names of companies and apps,
    short forms, loanwords such as "helpline"): they tell neither language.
    """

    def __init__(self, spelling: Mapping[str, Iterable[str]], roman_words: Iterable[str],
                 shared_words: Iterable[str] = ()):
        self._fold = {v: canon for canon, variants in spelling.items() for v in variants}
        self._roman = {self._fold.get(w, w) for w in roman_words}
        self._shared = _NEUTRAL | {self.normalise(w) for w in shared_words}
        # Word lists of the content (yes/no words, a flow's trigger words), normalised once:
        # folding thirty words for every message cost a fifth of handling it.
        self._lists: dict[tuple[str, ...], frozenset[str]] = {}

    def forms(self, words: Iterable[str]) -> frozenset[str]:
        """The normalised forms of a word list (of the content: a few dozen lists at most,
        each kept for the life of this normaliser, which a content reload replaces)."""
        key = tuple(words)
        found = self._lists.get(key)
        if found is None:
            found = self._lists[key] = frozenset(self.normalise(w) for w in key)
        return found

    def normalise(self, text: str) -> str:
        # The digits and letters folded are none of them ASCII, nor is anything strip_marks
        # drops: most messages are ASCII and skip those passes.
        plain = text.isascii()
        text = _stand_ins(text if plain else text.translate(DIGITS))
        text = _NOT_WORD.sub(" ", (text if plain else strip_marks(text).translate(LETTERS)).casefold())
        if _REPEATS.search(text):
            text = _REPEATS.sub(r"\1\1", text)
        return " ".join(self._fold.get(tok, tok) for tok in text.split())

    def detect_language(self, text: str, normalised: str | None = None) -> str | None:
        """'ur', 'roman_ur' or 'en'; None when the message has no language of its own: no
        letters at all ("1", "👍"), or only an email, a link, a number and shared words
        ("ali@example.com", "telenor helpline"). The conversation's language then holds."""
        bare = _stand_ins(text, " ")  # an address's or link's letters are no language
        # Urdu when its letters are at least as many as Latin ones; no letters at all: None.
        urdu = 0 if bare.isascii() else len(_URDU_LETTER.findall(bare))
        if urdu:
            if urdu >= len(_LATIN_LETTER.findall(bare)):
                return "ur"
        elif not _LATIN_LETTER.search(bare):  # with no Urdu letter, only whether there is one counts
            return None
        tokens = (normalised if normalised is not None else self.normalise(text)).split()
        own = [tok for tok in tokens if tok not in self._shared and not tok.isdecimal()]
        if not own:
            return None
        roman = sum(1 for tok in own if tok in self._roman)
        if roman >= 2 or (roman and roman * 4 >= len(own)):
            return "roman_ur"
        return "en"


def _stand_ins(text: str, blank: str | None = None) -> str:
    """The text with the stand-ins put for what they stand for (`blank`: this instead of the
    stand-in's word)."""
    for (pattern, stand_in), needs in zip(_STAND_INS, _NEEDS, strict=True):
        if needs(text):
            text = pattern.sub(blank or stand_in, text)
    return text
