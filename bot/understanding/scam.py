"""Is this message a scam? Red flags from `intents/scam_rules.yaml`, weighed into a verdict.

Pure functions over the text: nothing is stored or logged here."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.content.load import DEFAULT_DIR, ContentError
from bot.understanding.normalise import DIGITS, LANGS, LETTERS, strip_marks

RULES_FILE = "scam_rules.yaml"
VERDICTS = ("likely_scam", "suspicious", "no_red_flags")
MAX_CHARS = 5000  # longer texts are checked on their start (chat messages are shorter)
_FLAG_KEYS = {"id", "weight", "patterns", "requires", "unless", "boost", "explain", "examples"}
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def fold(text: str) -> str:
    """Urdu letter forms, diacritics and digits folded as the normaliser does; case kept."""
    return strip_marks(text).translate(LETTERS).translate(DIGITS).translate(_QUOTES)


def normalise(text: str) -> str:
    """Folded, lower case, one space between words; punctuation kept (links need it)."""
    return " ".join(fold(text).casefold().split())


def _entry(entry: str) -> str:
    """One pattern entry as a regex: `re:...` as written, else a whole-word phrase."""
    if entry.startswith("re:"):
        return fold(entry[3:])
    words = (re.escape(w) for w in normalise(entry).split())
    return r"(?<!\w)" + r"\W+".join(words) + r"(?!\w)"


def _compile(raw: Any, where: str, problems: list[str]) -> re.Pattern[str] | None:
    """A list of entries, or entries by language, as one regex (None when there are none)."""
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
            parts.append(re.compile(_entry(str(entry))).pattern)
        except re.error as exc:
            problems.append(f"{RULES_FILE}: {where}: bad regular expression {entry!r}: {exc}")
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE) if parts else None


@dataclass(frozen=True)
class Flag:
    id: str
    weight: float
    patterns: re.Pattern[str]
    explain: dict[str, str]
    requires: re.Pattern[str] | None = None
    unless: re.Pattern[str] | None = None
    boost: float = 0.0
    boost_patterns: re.Pattern[str] | None = None
    examples: dict[str, tuple[str, ...]] = field(default_factory=dict)  # messages it must find

    def find(self, text: str) -> tuple[int, float] | None:
        """Where the flag is first seen in normalised `text` and what it weighs, or None."""
        found = self.patterns.search(text)
        if not found or (self.requires and not self.requires.search(text)):
            return None
        if self.unless and self.unless.search(text):
            return None
        extra = self.boost if self.boost_patterns and self.boost_patterns.search(text) else 0.0
        return found.start(), self.weight + extra


@dataclass(frozen=True)
class ScamVerdict:
    verdict: str  # "likely_scam", "suspicious" or "no_red_flags"
    flags: tuple[str, ...]  # flag ids, in the order they appear in the message
    score: float

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "flags": list(self.flags)}


@dataclass(frozen=True)
class ScamRules:
    flags: tuple[Flag, ...]
    thresholds: dict[str, float]  # minimum score of "likely_scam" and "suspicious"
    verdict_texts: dict[str, dict[str, str]]
    official: re.Pattern[str] | None = None

    @classmethod
    def load(cls, content_dir: Path | str = DEFAULT_DIR) -> ScamRules:
        """Read and compile `scam_rules.yaml`; ContentError lists every problem found."""
        problems: list[str] = []
        path = Path(content_dir) / RULES_FILE
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ContentError([f"{RULES_FILE}: cannot read: {exc}"]) from exc
        if not isinstance(raw, dict):
            raise ContentError([f"{RULES_FILE}: expected a mapping with 'verdicts' and 'flags'"])
        flags = [f for f in (_flag(item, problems) for item in raw.get("flags") or []) if f]
        ids = [f.id for f in flags]
        problems += [f"{RULES_FILE}: flag '{i}' is defined twice" for i in set(ids) if ids.count(i) > 1]
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
            official = re.compile(
                r"(?<![\w.-])(?:https?://)?(?:[a-z0-9-]+\.)*(?:" + "|".join(domains) + r")"
                r"(?![\w-]|\.[\w])(?:/\S*)?"
            )
        if problems:
            raise ContentError(problems)
        texts = {name: {lang: str(verdicts[name][lang]).strip() for lang in LANGS} for name in VERDICTS}
        return cls(tuple(flags), thresholds, texts, official)

    def check(self, text: str) -> ScamVerdict:
        """The verdict on one message and the red flags found in it."""
        text = normalise(text[:MAX_CHARS])
        if self.official:
            text = self.official.sub(" ", text)
        found = []
        for order, flag in enumerate(self.flags):
            hit = flag.find(text)
            if hit:
                found.append((hit[0], order, flag.id, hit[1]))
        found.sort()
        score = float(sum(weight for *_, weight in found))
        if score >= self.thresholds["likely_scam"]:
            verdict = "likely_scam"
        elif score >= self.thresholds["suspicious"]:
            verdict = "suspicious"
        else:
            verdict = "no_red_flags"
        return ScamVerdict(verdict, tuple(flag_id for _, _, flag_id, _ in found), score)

    def flag(self, flag_id: str) -> Flag:
        """The flag with this id (KeyError if there is none)."""
        return {f.id: f for f in self.flags}[flag_id]

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


def _flag(item: Any, problems: list[str]) -> Flag | None:
    if not isinstance(item, dict) or not item.get("id"):
        problems.append(f"{RULES_FILE}: a flag without an id: {item!r}")
        return None
    where = f"flag '{item['id']}'"
    unknown = sorted(set(item) - _FLAG_KEYS)
    if unknown:
        problems.append(f"{RULES_FILE}: {where}: unknown key(s) {', '.join(unknown)}")
    weight = item.get("weight")
    if not isinstance(weight, int | float) or weight <= 0:
        problems.append(f"{RULES_FILE}: {where}: weight must be a positive number")
    explain = item.get("explain") or {}
    problems += [f"{RULES_FILE}: {where}: no explanation in '{lang}'" for lang in LANGS
                 if not str(explain.get(lang) or "").strip()]
    patterns = _compile(item.get("patterns"), where, problems)
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
        requires=_compile(item.get("requires"), f"{where}: requires", problems),
        unless=_compile(item.get("unless"), f"{where}: unless", problems),
        boost=float(boost.get("weight") or 0),
        boost_patterns=_compile(boost.get("patterns"), f"{where}: boost", problems),
        examples={lang: tuple(map(str, exs or ())) for lang, exs in (item.get("examples") or {}).items()},
    )


@functools.cache
def default_rules() -> ScamRules:
    """The rules of the content folder in the settings (BOT_INTENTS), loaded once."""
    from bot.config import Settings

    return ScamRules.load(Settings.from_env().content_dir)


def check(text: str) -> ScamVerdict:
    """`default_rules().check(text)`."""
    return default_rules().check(text)
