"""`intents check`: everything a maintainer can get wrong in the content, said plainly."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from bot.content.load import FACT_REF, OUT_OF_SCOPE, Content, ContentError, Fact, Intent, load_content
from bot.dialogue import flows  # noqa: F401  (registers every flow)
from bot.dialogue import registry as actions
from bot.understanding.matcher import Matcher, build_normaliser
from bot.understanding.normalise import LANGS
from bot.understanding.scam import ScamRules

FACT_MAX_AGE = dt.timedelta(days=180)
REVIEW_MAX_AGE = dt.timedelta(days=365)
THIN_SHARE = 0.5  # a language with fewer examples than this share of the richest one is thin


def check(directory: Path, today: dt.date | None = None) -> tuple[list[str], list[str]]:
    """Problems (the content must not ship) and warnings (it should be looked at).

    A language missing from an intent (examples, answer or title) is a problem: the bot
    would have nothing to say in it. Old facts, old reviews and thin or unequal
    translations are warnings."""
    content = load_content(directory, strict=False)
    problems = list(_load_problems(directory))
    problems += _action_problems(content)
    problems += _duplicate_problems(content)
    problems += _placeholder_problems(content)
    problems += _scam_rule_problems(directory)
    if not problems:  # matching half-loaded content would only repeat the problems above
        problems += _match_problems(content)
    warnings = _staleness_warnings(content, today or dt.date.today()) + _translation_warnings(content)
    return problems, warnings


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
    """Translations that exist but fall short: few examples next to another language, or an
    answer that leaves out a fact (a number, a short code) the other languages give."""
    warnings = []
    for intent in content.intents.values():
        sizes = {lang: len(intent.examples.get(lang, [])) for lang in LANGS}
        richest = max(sizes, key=sizes.get)
        warnings += [
            f"{intent.path}: only {n} example(s) in '{lang}' against {sizes[richest]} in '{richest}'"
            for lang, n in sizes.items()
            if 0 < n < sizes[richest] * THIN_SHARE
        ]
        refs = {lang: set(FACT_REF.findall(intent.answer[lang])) for lang in LANGS if lang in intent.answer}
        every = set().union(*refs.values()) if refs else set()
        for lang, keys in refs.items():
            if every - keys:
                left_out = ", ".join(f"{{{key}}}" for key in sorted(every - keys))
                warnings.append(f"{intent.path}: the '{lang}' answer leaves out {left_out}")
    return warnings
