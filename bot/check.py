"""`intents check`: everything a maintainer can get wrong in the content, said plainly."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from bot import actions
from bot.content import OUT_OF_SCOPE, Content, ContentError, load_content
from bot.matcher import Matcher
from bot.scam import ScamRules

FACT_MAX_AGE = dt.timedelta(days=180)
REVIEW_MAX_AGE = dt.timedelta(days=365)


def check(directory: Path) -> tuple[list[str], list[str]]:
    """Problems (the content must not ship) and warnings (it should be looked at)."""
    content = load_content(directory, strict=False)
    problems = list(_load_problems(directory))
    problems += _action_problems(content)
    problems += _duplicate_problems(content)
    problems += _placeholder_problems(content)
    problems += _scam_rule_problems(directory)
    if not problems:  # matching half-loaded content would only repeat the problems above
        problems += _match_problems(content)
    return problems, _staleness_warnings(content, dt.date.today())


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
    normalise = Matcher(content).normaliser.normalise if content.intents else str
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


def _staleness_warnings(content: Content, today: dt.date) -> list[str]:
    warnings = [
        f"facts.yaml: {f.key} was last checked {f.checked} (over 180 days ago)"
        for f in content.facts.values()
        if today - f.checked > FACT_MAX_AGE
    ]
    warnings += [
        f"{i.path}: last reviewed {i.reviewed or 'never'} (over a year ago)"
        for i in content.intents.values()
        if i.reviewed is None or today - i.reviewed > REVIEW_MAX_AGE
    ]
    return warnings
