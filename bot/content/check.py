"""`intents check`: everything a maintainer can get wrong in the content, said plainly."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

from bot.content.load import (
    FACT_REF,
    OUT_OF_SCOPE,
    VALUE_REF,
    Content,
    ContentError,
    Fact,
    Intent,
    load_content,
    shown_texts,
)
from bot.dialogue import (
    flows,  # noqa: F401  (registers every flow)
    kept,
    scam_flow,
    scam_text,
)
from bot.dialogue import registry as actions
from bot.state.sqlite_store import Retention
from bot.understanding.matcher import Matcher, build_normaliser
from bot.understanding.normalise import LANGS
from bot.understanding.scam import RULES_FILE, ScamRules

FACT_MAX_AGE = dt.timedelta(days=180)
REVIEW_MAX_AGE = dt.timedelta(days=365)
# Answers are read on a phone: the first message fits a screen, the rest comes on "more".
FIRST_MESSAGE_MAX = 700  # characters of an answer, or of one of the bot's own texts
MORE_MAX = 1600  # the rest of an answer, on request: one WhatsApp message at most
THIN_SHARE = 0.5  # a language with fewer examples than this share of the richest one is thin
# A number typed into a text: digits, with thousands separators or decimals.
NUMBER = re.compile(r"(?<![\w-])\d+(?:[.,]\d+)*(?!\w|-[A-Za-z])")
YEAR = re.compile(r"(?:19|20)\d\d")
LIST_MARKER = re.compile(r"(?m)^\s*\d{1,2}[.)](?=\s)")
# An address in a source: a URL, or a bare domain such as "nation.com.pk".
ADDRESS = re.compile(r"(?:https?://)?(?:[a-z0-9-]+\.)+[a-z]{2,}(?:/[^\s;,)]*)?", re.IGNORECASE)


def check(directory: Path, today: dt.date | None = None) -> tuple[list[str], list[str]]:
    """Problems (the content must not ship) and warnings (it should be looked at).

    A language missing from an intent (examples, answer or title) is a problem: the bot
    would have nothing to say in it. So is a number typed into a text instead of taken from
    the fact registry (years aside), and a text whose languages give different facts. Old
    facts, old reviews, thin translations, facts no text uses, sources that are only a home
    page and words the glossary replaced are warnings."""
    content = load_content(directory, strict=False)
    problems = list(_load_problems(directory))
    problems += _action_problems(content)
    problems += _duplicate_problems(content)
    problems += _placeholder_problems(content)
    problems += _scam_rule_problems(directory)
    problems += _scam_flow_problems(content, directory)
    texts = _all_texts(content, directory)
    problems += _typed_number_problems(texts) + _fact_agreement_problems(texts)
    problems += _unknown_fact_problems(content, texts) + _figure_problems(content)
    if not problems:  # measuring or matching half-loaded content would only repeat the above
        problems += length_problems(content) + _match_problems(content)
    warnings = _staleness_warnings(content, today or dt.date.today()) + _translation_warnings(content)
    warnings += _unused_fact_warnings(content, texts) + _source_warnings(content)
    warnings += glossary_warnings(content, texts)
    return problems, warnings


def _all_texts(content: Content, directory: Path) -> list[tuple[str, str, str]]:
    """Every text shown to people, as (where, language, text): the content's and the scam
    rules' explanations and verdicts."""
    texts = shown_texts(content)
    try:
        rules = ScamRules.load(directory)
    except ContentError:
        return texts  # reported by _scam_rule_problems
    for flag in (*rules.flags, *([rules.model_flag] if rules.model_flag else [])):
        where = f"{RULES_FILE}: {flag.id}: explain"
        texts += [(where, lang, text) for lang, text in flag.explain.items()]
    for verdict, by_lang in rules.verdict_texts.items():
        texts += [(f"{RULES_FILE}: verdict {verdict}", lang, text) for lang, text in by_lang.items()]
    return texts


def typed_numbers(text: str) -> list[str]:
    """Numbers written into a text rather than taken from a fact key: years, list markers
    ("1.") and numbers that are part of a label ("2FA", "2-Step") aside."""
    bare = LIST_MARKER.sub("", VALUE_REF.sub("", FACT_REF.sub("", text)))
    return [n for n in NUMBER.findall(bare) if not YEAR.fullmatch(n)]


def _typed_number_problems(texts: list[tuple[str, str, str]]) -> list[str]:
    return [
        f"{where} ({lang}): the number '{number}' is typed in: register it in facts.yaml and use its key"
        for where, lang, text in texts
        for number in typed_numbers(text)
    ]


def _fact_agreement_problems(texts: list[tuple[str, str, str]]) -> list[str]:
    """The languages of one text must give the same facts: the same keys in each."""
    keys: dict[str, dict[str, set[str]]] = defaultdict(dict)
    for where, lang, text in texts:
        keys[where].setdefault(lang, set()).update(FACT_REF.findall(text))
    problems = []
    for where, by_lang in keys.items():
        every = set().union(*by_lang.values())
        problems += [
            f"{where}: the '{lang}' text leaves out {', '.join(f'{{{k}}}' for k in sorted(every - got))}"
            for lang, got in sorted(by_lang.items())
            if every - got
        ]
    return problems


def _figure_problems(content: Content) -> list[str]:
    """{name} in an answer must be a figure the code fills in (bot/dialogue/kept.py)."""
    return [
        f"{intent.path}: unknown figure '{{{name}}}' in the '{lang}' answer"
        f" (known: {', '.join(sorted(kept.NAMES))})"
        for intent in content.intents.values()
        for lang, text in [*intent.answer.items(), *intent.more.items()]
        for name in VALUE_REF.findall(text)
        if name not in kept.NAMES
    ]


def _longest_values(content: Content, lang: str) -> dict[str, str]:
    """{names} filled in as long as they can be: the default retention, and the longest of the
    sentences that say where an email goes."""
    sentences = [content.render(texts[lang], lang) for key, texts in content.system.items()
                 if key.startswith("privacy_email_")]
    return {**kept.figures(Retention()), "email_service": max(sentences, key=len, default="")}


def length_problems(content: Content) -> list[str]:
    """Every answer's first message at most FIRST_MESSAGE_MAX characters as shown (facts and
    figures filled in), or the intent's own `max_chars`; its "more" at most MORE_MAX."""
    problems = []
    for intent in content.intents.values():
        limit = int(intent.extra.get("max_chars", FIRST_MESSAGE_MAX))
        for part, most in (("answer", limit), ("more", MORE_MAX)):
            for lang in getattr(intent, part):
                shown = len(getattr(content, part)(intent.id, lang, _longest_values(content, lang)))
                if shown > most:
                    problems.append(f"{intent.path}: the '{lang}' {part} is {shown} characters"
                                    f" (at most {most}: put the rest under 'more')")
    for key, texts in content.system.items():
        for lang, text in (texts.items() if isinstance(texts, dict) else ()):
            if isinstance(text, str) and len(content.render(text, lang)) > FIRST_MESSAGE_MAX:
                problems.append(f"system.yaml: {key} ({lang}) is over {FIRST_MESSAGE_MAX} characters")
    return problems


def _unused_fact_warnings(content: Content, texts: list[tuple[str, str, str]]) -> list[str]:
    used = {key for _, _, text in texts for key in FACT_REF.findall(text)}
    return [f"facts.yaml: {key} is used by no text: use it or remove it"
            for key in content.facts if key not in used]


def is_home_page(fact: Fact) -> bool:
    """The source names only sites, no article: it cannot be re-checked. A fact whose value
    is the site itself (an address people are sent to) is its own source."""
    addresses = ADDRESS.findall(fact.source)
    if not addresses:
        return False
    hosts = [urlsplit(a if "//" in a else f"//{a}") for a in addresses]
    if any(h.path.strip("/") or h.query for h in hosts):  # an article: /2024/03/x, ?p=42105
        return False
    return not any(h.hostname and h.hostname.removeprefix("www.") == fact.value.lower() for h in hosts)


def _source_warnings(content: Content) -> list[str]:
    return [
        f"facts.yaml: {f.key}: the source '{f.source}' is a home page: cite the article that states it"
        for f in content.facts.values()
        if is_home_page(f)
    ]


def glossary_warnings(content: Content, texts: list[tuple[str, str, str]] | None = None) -> list[str]:
    """A text that uses a variant the glossary lists instead of the term it chose. `texts`:
    every shown text (default: the content's, without the scam rules' explanations)."""
    warnings, texts = [], shown_texts(content) if texts is None else texts
    for concept, entry in content.glossary.items():
        if not isinstance(entry, dict):  # "reviewed:" and the like
            continue
        for lang, variants in (entry.get("variants") or {}).items():
            chosen = entry.get(lang, "")
            for variant in variants or []:
                pattern = re.compile(rf"(?<!\w){re.escape(str(variant))}(?!\w)", re.IGNORECASE)
                warnings += [
                    f"{where} ({lang}): '{variant}' where the glossary ({concept}) says '{chosen}'"
                    for where, text_lang, text in texts
                    if text_lang == lang and pattern.search(text)
                ]
    return warnings


def _load_problems(directory: Path) -> list[str]:
    try:
        load_content(directory, strict=True)
    except Exception as exc:  # ContentError, or anything a broken file raises
        return getattr(exc, "problems", [str(exc)])
    return []


def _action_problems(content: Content) -> list[str]:
    return [
        f"{i.path}: unknown action '{i.action}' (known: {', '.join(sorted(actions.ACTIONS))})"
        for i in content.intents.values()
        if i.action and i.action not in actions.ACTIONS
    ]


def _duplicate_problems(content: Content) -> list[str]:
    normalise = build_normaliser(content).normalise
    owners: dict[str, set[str]] = defaultdict(set)
    for intent in content.intents.values():
        for examples in intent.examples.values():
            for example in examples:
                owners[normalise(example)].add(intent.id)
    return [
        f"example '{text}' is in several intents: {', '.join(sorted(ids))}"
        for text, ids in owners.items()
        if len(ids) > 1
    ]


def _unknown_fact_problems(content: Content, texts: list[tuple[str, str, str]]) -> list[str]:
    """A scam explanation or verdict naming a fact the registry does not have (the content's
    own texts are checked when they load)."""
    return [f"{where} ({lang}): unknown fact key '{{{key}}}'"
            for where, lang, text in texts if where.startswith(RULES_FILE)
            for key in FACT_REF.findall(text) if key not in content.facts]


def _scam_flow_problems(content: Content, directory: Path) -> list[str]:
    """The scam check's data in its intent file: `own_words` patterns that compile, and
    `same_reason` groups of flags that exist."""
    intent = content.intents.get(scam_flow.INTENT)
    if intent is None:
        return []
    problems = [f"{intent.path}: {p}" for p in scam_text.problems(intent.extra.get("own_words"))]
    groups = intent.extra.get("same_reason") or []
    try:
        known = {flag.id for flag in ScamRules.load(directory).flags}
    except ContentError:
        return problems  # reported by _scam_rule_problems
    if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
        return [*problems, f"{intent.path}: same_reason: expected a list of lists of flag ids"]
    return problems + [f"{intent.path}: same_reason: unknown flag '{flag}'"
                       for group in groups for flag in group if flag not in known]


def _scam_rule_problems(directory: Path) -> list[str]:
    try:
        ScamRules.load(directory)
    except ContentError as exc:
        return exc.problems
    return []


def _placeholder_problems(content: Content) -> list[str]:
    """A skeleton from `intents new` still has its TODO texts: it must be filled in."""
    problems = []
    for intent in content.intents.values():
        texts = [*intent.title.values(), *intent.answer.values()]
        texts += [e for examples in intent.examples.values() for e in examples]
        if any("TODO" in text for text in texts):
            problems.append(f"{intent.path}: still has TODO placeholders: fill in examples, answer and title")
    return problems


def _match_problems(content: Content) -> list[str]:
    """Every example must be matched to its own intent, as a person typing it would see."""
    matcher = Matcher(content)
    problems = []
    for intent in content.intents.values():
        for examples in intent.examples.values():
            for example in examples:
                match = matcher.match(example)
                got = match.intent or (
                    f"a question between {' and '.join(match.candidates)}" if match.candidates
                    else OUT_OF_SCOPE
                )
                if got != intent.id:
                    problems.append(f"{intent.path}: example '{example}' is matched to {got}")
    return problems


def stale_facts(content: Content, today: dt.date) -> list[Fact]:
    """Facts last checked more than 180 days before `today`, oldest first."""
    return sorted((f for f in content.facts.values() if today - f.checked > FACT_MAX_AGE),
                  key=lambda f: (f.checked, f.key))


def stale_intents(content: Content, today: dt.date) -> list[Intent]:
    """Intents never reviewed, or last reviewed more than a year before `today`."""
    return sorted(
        (i for i in content.intents.values() if i.reviewed is None or today - i.reviewed > REVIEW_MAX_AGE),
        key=lambda i: (i.reviewed or dt.date.min, i.id),
    )


def _staleness_warnings(content: Content, today: dt.date) -> list[str]:
    warnings = [
        f"facts.yaml: {f.key} was last checked {f.checked} (over 180 days ago): check it at {f.source}"
        for f in stale_facts(content, today)
    ]
    warnings += [
        f"{i.path}: last reviewed {i.reviewed} (over a year ago)" if i.reviewed
        else f"{i.path}: no 'reviewed: YYYY-MM-DD' date: review it and add one"
        for i in stale_intents(content, today)
    ]
    return warnings


def _translation_warnings(content: Content) -> list[str]:
    """Translations that exist but fall short: few examples next to another language. (An
    answer that leaves out a fact the other languages give is a problem: see
    _fact_agreement_problems.)"""
    warnings = []
    for intent in content.intents.values():
        sizes = {lang: len(intent.examples.get(lang, [])) for lang in LANGS}
        richest = max(sizes, key=sizes.get)
        warnings += [
            f"{intent.path}: only {n} example(s) in '{lang}' against {sizes[richest]} in '{richest}'"
            for lang, n in sizes.items()
            if 0 < n < sizes[richest] * THIN_SHARE
        ]
    return warnings
