"""Is this message a scam? Red flags from `intents/scam_rules.yaml` name what is wrong in plain
words; the scam model (`scam_model.py`, trained on real messages) weighs the text and those
flags into the verdict. Without a model beside the rules (a content folder of one's own), the
flags' weights decide, as the rules file says.

Disguise is undone before anything reads the text (`scam_fold.py`). A long message is read
whole, in windows, and judged on its worst one.

Pure functions over the text: nothing is stored or logged here."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.content.load import DEFAULT_DIR, SAFE_LOADER, ContentError
from bot.understanding.normalise import DIGITS, LANGS, LETTERS, strip_marks
from bot.understanding.scam_fold import Spelling, undisguise, unmask
from bot.understanding.scam_gate import Gated, Places, WordScan
from bot.understanding.scam_model import MODEL_FILE, ScamModel, finding_names

RULES_FILE = "scam_rules.yaml"
FACTS_FILE = "facts.yaml"
VERDICTS = ("likely_scam", "suspicious", "no_red_flags")
# Read whole up to the web service's body limit, in windows: the model finds the worst window
# (a fraction of a millisecond each) and the rules read that one. A scam is short; a window
# overlaps the next so that none is cut in two.
MAX_CHARS = 64 * 1024
WINDOW = 4096
OVERLAP = 512
MAX_WORD = 100  # longer words are cut (links keep their host and the start of their path)
MIN_WORDS = 3  # words with letters the model needs; shorter messages are judged by the rules alone
STRONG = 3  # a flag of this weight is a scam on its own: with it, the model's doubt is only suspicion
_WORD = re.compile(r"[^\W\d_]{2,}")
_FLAG_KEYS = {"id", "weight", "patterns", "requires", "unless", "boost", "explain", "examples"}
_CAP_KEYS = {"id", "verdict", "patterns", "unless_flags", "about"}
# A phone number as written in a message: digits with spaces or dashes, maybe +92.
_PHONE_LIKE = re.compile(r"(?<![\d*])\+?\d[\d -]{5,16}\d(?![\d#])")
# Where a rule names the registry's short codes: `<official_code>` in a pattern.
OFFICIAL_CODE = "<official_code>"
OFFICIAL_NUMBER = "officialnumber"  # what a registry phone number becomes before the rules read it
# what a link to an official domain, or to the site of the sender the message names, becomes
OFFICIAL_LINK = "officiallink"
# A link on an ordinary domain, and the generic labels that end a host name: what is left is
# the site's own name ("priceoye" in www.priceoye.pk, "careem" in careem.com/reset).
_PLAIN_LINK = Gated([r"(?<![\w.-])(?:https?://)?((?:[a-z0-9-]+\.)+(?:com|net|org|pk|io|co|edu))(?![\w-]|\.[\w])(?:/\S*)?"])
_GENERIC_LABELS = {"com", "net", "org", "pk", "io", "co", "edu", "gov", "www"}
# Where a pattern names a Pakistani mobile number, written out or masked (03xx-xxxxxxx, 0300****567).
MOBILE = "<mobile>"
_MOBILE = (r"(?:(?<![\d+])(?:\+?92|0092|0)\W?3\d{2}\W?\d{3}\W?\d{4}(?!\d)"
           r"|(?<![\w+])(?:\+?92|0)?3\d{0,2}[x*]{2,}(?:\W?[x*\d]{3,})?)")
_MOBILE_FOUND = re.compile(_MOBILE)
ACCOUNT_NUMBER = "accountnumber"  # what a mobile number that is a wallet account becomes
# A company's universal access number (UAN, 111-xxx-xxx, maybe after a city code): the line a
# bank or courier gives, never an ordinary person's. Read as a word of its own.
UAN = "uanhelpline"
_DIGIT = re.compile(r"\d")
_UAN_FOUND = re.compile(r"(?<![\d+])(?:0?\d{2}\W?)?111\W?\d{3}\W?\d{3}(?!\d)")
# A shop's web address as a card alert names it ("charged at NETFLIX.COM"): read as words, not a link.
_MERCHANT_SITE = re.compile(
    r"(?<![\w.-])(?:www\.)?[a-z0-9]+(?:\.[a-z0-9]+)*\.(?:com|net|org|pk|co|in|io|uk|us)\b(?![./-])")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
# More than three signs in a row ("( ( ( ( (", "!!!!!!"): kept to three. A pattern's `\W*`
# tried from every sign of a long run costs the square of its length.
_SIGN_RUN = re.compile(r"((?:[^\w\s] ?){3})(?:[^\w\s] ?)+")


def fold(text: str) -> str:
    """Urdu letter forms, diacritics and digits folded as the normaliser does; case kept."""
    if text.isascii():  # none of what is folded is ASCII (test_scam_gate checks the tables)
        return text
    return strip_marks(text).translate(LETTERS).translate(DIGITS).translate(_QUOTES)


def normalise(text: str) -> str:
    """Folded, lower case, one space between words; punctuation kept (links need it)."""
    return " ".join(fold(text).casefold().split())


def digits_of(number: str) -> str:
    """A phone number's digits in national form: +92 300 3008000 and 0300-3008000 are one."""
    digits = re.sub(r"\D", "", number)
    for prefix in ("0092", "92"):
        if digits.startswith(prefix) and len(digits) >= len(prefix) + 9:
            return "0" + digits[len(prefix):]
    return digits


def registry_numbers(content_dir: Path) -> tuple[frozenset[str], tuple[str, ...]]:
    """The fact registry's phone numbers (7 digits or more, national form) and short codes
    (3627, 8171, *420#...): what official senders and helplines look like."""
    try:
        facts = yaml.safe_load((Path(content_dir) / FACTS_FILE).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return frozenset(), ()
    numbers, codes = set(), set()
    for fact in facts.values() if isinstance(facts, dict) else ():
        value = str(fact.get("value", "")) if isinstance(fact, dict) else ""
        if not re.fullmatch(r"[*+]?[\d -]+#?", value):
            continue
        digits = re.sub(r"\D", "", value)
        if len(digits) >= 7:
            numbers.add(digits_of(value))
        elif len(digits) >= 3:
            codes.add(digits)
    return frozenset(numbers), tuple(sorted(codes, key=len, reverse=True))


def _entry(entry: str, codes: tuple[str, ...] = ()) -> str:
    """One pattern entry as a regex: `re:...` as written (`<official_code>` standing for the
    registry's short codes), else a whole-word phrase."""
    if entry.startswith("re:"):
        alternatives = "(?:" + "|".join(codes) + ")" if codes else "(?!)"
        return fold(entry[3:]).replace(OFFICIAL_CODE, alternatives).replace(MOBILE, _MOBILE)
    words = (re.escape(w) for w in normalise(entry).split())
    return r"(?<!\w)" + r"\W+".join(words) + r"(?!\w)"


def _compile(
    raw: Any, where: str, problems: list[str], codes: tuple[str, ...] = ()
) -> Gated | None:
    """A list of entries, or entries by language, as one regex (None when there are none),
    searched only where it can match."""
    entries: Iterable[Any] = ()
    if isinstance(raw, dict):
        entries = [e for lang in LANGS for e in raw.get(lang) or []]
        unknown = set(raw) - set(LANGS)
        if unknown:
            problems.append(f"{RULES_FILE}: {where}: unknown language(s) {', '.join(sorted(unknown))}")
    elif isinstance(raw, list):
        entries = raw
    elif raw is not None:
        problems.append(f"{RULES_FILE}: {where}: expected a list or entries by language")
    parts = []
    for entry in entries:
        try:
            parts.append(re.compile(_entry(str(entry), codes)).pattern)
        except re.error as exc:
            problems.append(f"{RULES_FILE}: {where}: bad regular expression {entry!r}: {exc}")
        # messages are lower-cased before matching, and case-blind regexes cost 2 to 8 times more
        if re.search(r"[A-Z]", re.sub(r"\\.", "", str(entry))):
            problems.append(f"{RULES_FILE}: {where}: write patterns in lower case: {entry!r}")
    return Gated(parts) if parts else None


@dataclass(frozen=True)
class Flag:
    id: str
    weight: float
    patterns: Gated
    explain: dict[str, str]
    requires: Gated | None = None
    unless: Gated | None = None
    boost: float = 0.0
    boost_patterns: Gated | None = None
    examples: dict[str, tuple[str, ...]] = field(default_factory=dict)  # messages it must find

    def find(self, text: str, places: Places | None = None) -> tuple[int, float] | None:
        """Where the flag is first seen in prepared `text` and what it weighs, or None
        (`places`: where the rules' words are in the text, when known)."""
        start = self.patterns.start(text, places)
        if start is None or (self.requires and not self.requires.found(text, places)):
            return None
        if self.unless and self.unless.found(text, places):
            return None
        extra = self.boost if self.boost_patterns and self.boost_patterns.found(text, places) else 0.0
        return start, self.weight + extra

    def rules(self) -> list[Gated]:
        return [r for r in (self.patterns, self.requires, self.unless, self.boost_patterns) if r]

    def trace(self, text: str) -> dict[str, Any]:
        """How the flag fared on prepared `text`: what matched each of its parts (for tuning)."""
        def seen(pattern: Gated | None) -> str | None:
            hit = pattern.search(text) if pattern else None
            return hit.group() if hit else None

        parts = {"matched": seen(self.patterns), "requires": seen(self.requires),
                 "unless": seen(self.unless), "boost": seen(self.boost_patterns)}
        hit = self.find(text)
        return {"id": self.id, "fired": hit is not None, "weight": hit[1] if hit else 0.0, **parts}


@dataclass(frozen=True)
class Cap:
    """Traffic that is not a scam by its kind (an operator's `*xxx#` offer, a shop's sale):
    its verdict is at most `verdict`, unless one of `unless_flags` fired."""

    id: str
    verdict: str
    patterns: Gated
    unless_flags: frozenset[str]

    def applies(self, text: str, flags: Iterable[str], places: Places | None = None) -> bool:
        return not self.unless_flags.intersection(flags) and self.patterns.found(text, places)


@dataclass(frozen=True)
class ScamVerdict:
    verdict: str  # "likely_scam", "suspicious" or "no_red_flags"
    flags: tuple[str, ...]  # flag ids, strongest first (by weight, then where they appear)
    score: float  # the sum of the flags' weights
    probability: float | None = None  # the model's, when there is one

    def as_dict(self) -> dict[str, Any]:
        found = {"verdict": self.verdict, "score": self.score, "flags": list(self.flags)}
        return found if self.probability is None else {**found, "probability": round(self.probability, 4)}


@dataclass(frozen=True)
class ScamRules:
    flags: tuple[Flag, ...]
    thresholds: dict[str, float]  # minimum score of "likely_scam" and "suspicious"
    verdict_texts: dict[str, dict[str, str]]
    official: Gated | None = None
    official_numbers: frozenset[str] = frozenset()
    spelling: Spelling = field(default_factory=lambda: Spelling({}))
    caps: tuple[Cap, ...] = ()
    model: ScamModel | None = None
    model_flag: Flag | None = None  # named when the model finds a scam that no flag explains
    official_codes: re.Pattern[str] | None = None  # the registry's short codes, as whole numbers
    accounts: Gated | None = None  # where a mobile number is a wallet account, not a contact
    merchants: Gated | None = None  # where a web address names the shop a card was used at
    brands: tuple[str, ...] = ()  # the names in official domains (hbl, easypaisa): never a sender's own site
    # the words of every flag's and cap's gates, found in one pass over a text (each gate
    # searched on its own without it)
    words: WordScan | None = None

    @classmethod
    def load(cls, content_dir: Path | str = DEFAULT_DIR) -> ScamRules:
        """Read and compile `scam_rules.yaml`; ContentError lists every problem found."""
        problems: list[str] = []
        path = Path(content_dir) / RULES_FILE
        try:
            raw = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER) or {}  # noqa: S506
        except (OSError, yaml.YAMLError) as exc:
            raise ContentError([f"{RULES_FILE}: cannot read: {exc}"]) from exc
        if not isinstance(raw, dict):
            raise ContentError([f"{RULES_FILE}: expected a mapping with 'verdicts' and 'flags'"])
        numbers, codes = registry_numbers(Path(content_dir))
        flags = [f for f in (_flag(item, problems, codes) for item in raw.get("flags") or []) if f]
        caps = [c for c in (_cap(item, problems) for item in raw.get("caps") or []) if c]
        spelling = _spelling(raw.get("spelling"), problems)
        accounts = _compile(raw.get("account_numbers"), "account_numbers", problems, codes)
        merchants = _compile(raw.get("merchant_sites"), "merchant_sites", problems)
        borrowed = raw.get("borrowed_names") or []
        if not isinstance(borrowed, list):
            problems.append(f"{RULES_FILE}: borrowed_names: expected a list of names")
            borrowed = []
        brands = _brands([*(raw.get("official_domains") or []), *borrowed])
        ids = [f.id for f in flags]
        problems += [f"{RULES_FILE}: flag '{i}' is defined twice" for i in set(ids) if ids.count(i) > 1]
        for cap in caps:
            unknown = sorted(cap.unless_flags - set(ids))
            problems += [f"{RULES_FILE}: cap '{cap.id}': unknown flag '{i}'" for i in unknown]
        verdicts = raw.get("verdicts") or {}
        thresholds = {}
        for name in VERDICTS:
            texts = verdicts.get(name) or {}
            problems += [f"{RULES_FILE}: verdicts: {name}: no text in '{lang}'" for lang in LANGS
                         if not str(texts.get(lang) or "").strip()]
            if name != "no_red_flags":
                if not isinstance(texts.get("min_score"), int | float):
                    problems.append(f"{RULES_FILE}: verdicts: {name}: min_score must be a number")
                thresholds[name] = float(texts.get("min_score") or 0)
        if thresholds and not 0 < thresholds["suspicious"] <= thresholds["likely_scam"]:
            problems.append(f"{RULES_FILE}: verdicts: need 0 < suspicious.min_score <= likely_scam.min_score")
        domains = [re.escape(str(d).casefold()) for d in raw.get("official_domains") or []]
        official = None
        if domains:
            official = Gated([
                r"(?<![\w.-])(?:https?://)?(?:[a-z0-9-]+\.)*(?:" + "|".join(domains) + r")"
                r"(?![\w-]|\.[\w])(?:/\S*)?"
            ])
        model_flag = _model_flag(raw.get("model_flag"), problems)
        model = None
        if (Path(content_dir) / MODEL_FILE).exists():
            try:
                model = ScamModel.load(Path(content_dir) / MODEL_FILE)
            except (OSError, ValueError, KeyError) as exc:
                problems.append(f"{MODEL_FILE}: cannot read: {exc}")
        if problems:
            raise ContentError(problems)
        texts = {name: {lang: str(verdicts[name][lang]).strip() for lang in LANGS} for name in VERDICTS}
        codes_found = re.compile(r"(?<![\d*])(?:" + "|".join(codes) + r")(?![\d#])") if codes else None
        words = WordScan([*(r for f in flags for r in f.rules()), *(c.patterns for c in caps)])
        return cls(tuple(flags), thresholds, texts, official, numbers, spelling, tuple(caps), model,
                   model_flag, codes_found, accounts, merchants, brands, words)

    def prepare(self, text: str) -> str:
        """The text as the rules read it: disguise undone, normalised, the registry's own
        numbers, a company's UAN and official links (or the named sender's own site) set
        aside as words of their own, a wallet's account number (a mobile number in a
        receipt) told from a number to call and a shop's address in a card alert from a link,
        disguised spellings folded, and the marks of disguise no genuine sender uses (mixed
        alphabets, a link's user name) added as words."""
        text, marks = undisguise(text[:MAX_CHARS])
        # a word is cut to its first MAX_WORD characters: no pattern then reads a run longer
        # than that ("0300" a thousand times, "1,1,1,..."), whatever it would try from each place
        words = fold(text).casefold().split()
        if max(map(len, words), default=0) > MAX_WORD:
            words = [word[:MAX_WORD] for word in words]
        text = " ".join(words)
        if _DIGIT.search(text):  # a phone number or a UAN has digits (most messages have none)
            if self.official_numbers:
                text = _PHONE_LIKE.sub(self._official_number, text)
            text = _UAN_FOUND.sub(f" {UAN} ", text)
        if self.accounts:
            text = self.accounts.sub(_as_accounts, text)
        if self.merchants:
            text = self.merchants.sub(_as_merchant, text)
        if self.official:
            text = self.official.sub(f" {OFFICIAL_LINK} ", text)
        text = _PLAIN_LINK.sub(functools.partial(self._own_link, text), text)
        text = unmask(_SIGN_RUN.sub(r"\1", text), self.spelling)
        return " ".join((text, *marks)) if marks else text

    def _own_link(self, text: str, found: re.Match[str]) -> str:
        """A link to the site of the sender the message names ("your Careem password ...
        careem.com/reset") as an official one; never one whose name holds a bank's, wallet's
        or office's (easypaisa.com for easypaisa.com.pk), nor a look-alike (careem-help.com)."""
        labels = [label for label in found.group(1).split(".") if label not in _GENERIC_LABELS]
        name = labels[-1] if labels else ""
        if len(name) < 4 or "-" in name or any(brand in name for brand in self.brands):
            return found.group()
        named = re.findall(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])", text)
        return f" {OFFICIAL_LINK} " if len(named) >= 2 else found.group()

    def _official_number(self, found: re.Match[str]) -> str:
        return f" {OFFICIAL_NUMBER} " if digits_of(found.group()) in self.official_numbers else found.group()

    def check(self, text: str) -> ScamVerdict:
        """The verdict on one message and the red flags found in it, strongest first."""
        prepared = self.prepare(self._worst_window(text))
        flags, score, caps = self.findings(prepared)
        by_rules = self._verdict(score)
        for cap in caps:
            if VERDICTS.index(by_rules) < VERDICTS.index(cap.verdict):
                by_rules = cap.verdict
        if self.model is None:
            return ScamVerdict(by_rules, flags, score)
        if len(_WORD.findall(prepared)) < MIN_WORDS:  # "645", "ok": too little for the model
            return ScamVerdict(by_rules, flags, score)
        probability = self.model.probability(prepared, finding_names(flags, (c.id for c in caps)))
        verdict = self.model.verdict(probability)
        if not flags and self._official_only(prepared):
            # "Send REG to 3627": the registry's own numbers and codes, and no red flag
            return ScamVerdict("no_red_flags", (), score, probability)
        if verdict != "likely_scam" and by_rules == "likely_scam" and any(
                self.flag(f).weight >= STRONG for f in flags):
            # The model has doubts the rules do not share: a red flag that is a scam on its own
            # (a request for the code, a screen-sharing app, a parcel held for its address)
            # outweighs wording it has seen little of, even when the model sees nothing.
            verdict = "likely_scam"
        if verdict == "no_red_flags":
            flags = ()
        elif not flags:
            # No rule names anything: the model alone calls a scam at its own threshold, chosen
            # among the messages no flag names (a premium-rate trap, a
            # job offer in new words), and its doubt is not put to the person as flags.
            verdict = "likely_scam" if probability >= self.model.thresholds["model_alone"] else "suspicious"
            flags = (self.model_flag.id,) if verdict == "likely_scam" and self.model_flag else ()
        return ScamVerdict(verdict, flags, score, probability)

    def _official_only(self, prepared: str) -> bool:
        """Whether the text names the registry's own numbers or short codes."""
        codes = self.official_codes
        return OFFICIAL_NUMBER in prepared or bool(codes and codes.search(prepared))

    def findings(self, prepared: str) -> tuple[tuple[str, ...], float, list[Cap]]:
        """What the rules find in a prepared text: the flags (strongest first), the sum of
        their weights, and the caps that apply."""
        places = self.words.places(prepared) if self.words else None
        found = []
        for order, flag in enumerate(self.flags):
            hit = flag.find(prepared, places)
            if hit:
                found.append((-hit[1], hit[0], order, flag.id))
        found.sort()
        flags = tuple(flag_id for *_, flag_id in found)
        caps = [c for c in self.caps if c.applies(prepared, flags, places)]
        return flags, float(sum(-weight for weight, *_ in found)), caps

    def _worst_window(self, text: str) -> str:
        """The message itself, or for a long one its window the model finds most like a scam
        (without a model: the one with the highest score)."""
        text = text[:MAX_CHARS]
        if len(text) <= WINDOW:
            return text
        windows = [text[start:start + WINDOW] for start in range(0, len(text) - OVERLAP, WINDOW - OVERLAP)]
        if self.model is not None:
            return max(windows, key=lambda w: self.model.text_logit(self.prepare(w)))
        return max(windows, key=lambda w: self.check(w).score)

    def _verdict(self, score: float) -> str:
        if score >= self.thresholds["likely_scam"]:
            return "likely_scam"
        if score >= self.thresholds["suspicious"]:
            return "suspicious"
        return "no_red_flags"

    def trace(self, text: str) -> dict[str, Any]:
        """How the verdict came about: the prepared text, every flag that matched any part,
        and the caps that held the verdict down (`scam-check --explain`)."""
        prepared = self.prepare(self._worst_window(text))
        verdict = self.check(text)
        flags = [t for t in (f.trace(prepared) for f in self.flags) if t["matched"]]
        fired = tuple(t["id"] for t in flags if t["fired"])
        caps = [c.id for c in self.caps if c.applies(prepared, fired)]
        return {"text": prepared, **verdict.as_dict(), "trace": flags, "caps": caps,
                "model": self.model is not None}

    def flag(self, flag_id: str) -> Flag:
        """The flag with this id (KeyError if there is none), the model's own included."""
        found = {f.id: f for f in self.flags}
        if self.model_flag:
            found[self.model_flag.id] = self.model_flag
        return found[flag_id]

    def explain(self, flag_id: str, lang: str) -> str:
        """The plain explanation of one flag in `lang` ("en", "roman_ur" or "ur")."""
        return self.flag(flag_id).explain[lang]

    def explanations(self, verdict: ScamVerdict, lang: str) -> list[str]:
        """The explanation of every flag of `verdict`, in order."""
        return [self.explain(flag_id, lang) for flag_id in verdict.flags]

    def describe(self, verdict: ScamVerdict | str, lang: str) -> str:
        """One sentence saying what the verdict means, in `lang`."""
        name = verdict if isinstance(verdict, str) else verdict.verdict
        return self.verdict_texts[name][lang]


def _brands(names: Iterable[Any]) -> tuple[str, ...]:
    """The names of the official domains (meezanbank in meezanbank.com) and those look-alike
    addresses borrow (`borrowed_names`): a link whose name holds one is never a sender's own."""
    found = {str(n).casefold().split(".")[0] for n in names}
    return tuple(sorted(n for n in found if len(n) >= 3 and n not in _GENERIC_LABELS))


def _as_accounts(found: re.Match[str]) -> str:
    """The mobile numbers inside an `account_numbers` match, read as account numbers."""
    return _MOBILE_FOUND.sub(f" {ACCOUNT_NUMBER} ", found.group())


def _as_merchant(found: re.Match[str]) -> str:
    """The shop's web address inside a `merchant_sites` match as its name: "netflix com"."""
    return _MERCHANT_SITE.sub(lambda site: site.group().replace(".", " "), found.group())


def _rule_name(item: Any, kind: str, keys: set[str], problems: list[str]) -> str | None:
    """How problems name a flag or cap ("flag 'x'"), after checking its id and keys; None
    when it has no id, and nothing more can be said of it."""
    if not isinstance(item, dict) or not item.get("id"):
        problems.append(f"{RULES_FILE}: a {kind} without an id: {item!r}")
        return None
    where = f"{kind} '{item['id']}'"
    unknown = sorted(set(item) - keys)
    if unknown:
        problems.append(f"{RULES_FILE}: {where}: unknown key(s) {', '.join(unknown)}")
    return where


def _flag(item: Any, problems: list[str], codes: tuple[str, ...] = ()) -> Flag | None:
    where = _rule_name(item, "flag", _FLAG_KEYS, problems)
    if where is None:
        return None
    weight = item.get("weight")
    if not isinstance(weight, int | float) or weight <= 0:
        problems.append(f"{RULES_FILE}: {where}: weight must be a positive number")
    explain = item.get("explain") or {}
    problems += [f"{RULES_FILE}: {where}: no explanation in '{lang}'" for lang in LANGS
                 if not str(explain.get(lang) or "").strip()]
    patterns = _compile(item.get("patterns"), where, problems, codes)
    if patterns is None:
        problems.append(f"{RULES_FILE}: {where}: no patterns")
    boost = item.get("boost") or {}
    if boost and not isinstance(boost.get("weight"), int | float):
        problems.append(f"{RULES_FILE}: {where}: boost needs a weight and patterns")
    if patterns is None or not isinstance(weight, int | float):
        return None
    return Flag(
        id=str(item["id"]),
        weight=float(weight),
        patterns=patterns,
        explain={lang: " ".join(str(explain.get(lang, "")).split()) for lang in LANGS},
        requires=_compile(item.get("requires"), f"{where}: requires", problems, codes),
        unless=_compile(item.get("unless"), f"{where}: unless", problems, codes),
        boost=float(boost.get("weight") or 0),
        boost_patterns=_compile(boost.get("patterns"), f"{where}: boost", problems, codes),
        examples={lang: tuple(map(str, exs or ())) for lang, exs in (item.get("examples") or {}).items()},
    )


def _model_flag(raw: Any, problems: list[str]) -> Flag | None:
    """`model_flag`: the id and explanation shown when the model finds a scam that no flag
    names; it has no patterns of its own."""
    if raw is None:
        return None
    explain = raw.get("explain") if isinstance(raw, dict) else None
    if not isinstance(raw, dict) or not raw.get("id") or not isinstance(explain, dict):
        problems.append(f"{RULES_FILE}: model_flag: expected an id and an explanation per language")
        return None
    problems += [f"{RULES_FILE}: model_flag: no explanation in '{lang}'" for lang in LANGS
                 if not str(explain.get(lang) or "").strip()]
    return Flag(id=str(raw["id"]), weight=0.0, patterns=Gated(["(?!)"]),
                explain={lang: " ".join(str(explain.get(lang, "")).split()) for lang in LANGS})


def _spelling(raw: Any, problems: list[str]) -> Spelling:
    if raw is None:
        return Spelling({})
    if not isinstance(raw, dict) or not all(isinstance(v, list) for v in raw.values()):
        problems.append(f"{RULES_FILE}: spelling: expected canonical word: [variants]")
        return Spelling({})
    return Spelling({str(k).casefold(): [str(v).casefold() for v in vs] for k, vs in raw.items()})


def _cap(item: Any, problems: list[str]) -> Cap | None:
    where = _rule_name(item, "cap", _CAP_KEYS, problems)
    if where is None:
        return None
    if item.get("verdict") not in VERDICTS[1:]:
        problems.append(f"{RULES_FILE}: {where}: verdict must be suspicious or no_red_flags")
    patterns = _compile(item.get("patterns"), where, problems)
    if patterns is None:
        problems.append(f"{RULES_FILE}: {where}: no patterns")
        return None
    return Cap(str(item["id"]), str(item.get("verdict")), patterns,
               frozenset(map(str, item.get("unless_flags") or ())))


@functools.cache
def default_rules() -> ScamRules:
    """The rules of the content folder in the settings (BOT_INTENTS), loaded once."""
    from bot.config import Settings

    return ScamRules.load(Settings.from_env().content_dir)


def check(text: str) -> ScamVerdict:
    """`default_rules().check(text)`."""
    return default_rules().check(text)
