"""`intents review`: one static HTML page for reviewers. Every answer side by side in the three
languages (facts filled in and marked), the facts with source, check date and confidence, and
what `intents check` says, next to the text it is about. No server, no script: the page is the
template `bot/templates/review.html`, autoescaped; this module gathers what it shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from bot.content.check import check
from bot.content.load import FACT_REF, Content, load_content
from bot.dialogue.kept import figures
from bot.state.sqlite_store import Retention
from bot.templating import render
from bot.understanding.normalise import LANGS

NAMES = {"en": "English", "roman_ur": "Roman Urdu", "ur": "اردو"}
Segments = list[tuple[str, str | None]]  # (text, the fact's key or None)
Notes = list[tuple[str, str]]  # (kind, text): kind is "problem" or "warning"


@dataclass(frozen=True)
class Row:
    label: str
    cells: list[tuple[str, Segments]]  # (language, the text as shown, in segments)


def _marked(content: Content, text: str, lang: str, values: dict[str, str]) -> Segments:
    """The text as shown, each fact's value a segment of its own, marked with its key."""
    parts: Segments = []
    last = 0
    for ref in FACT_REF.finditer(text):
        parts.append((content.render(text[last:ref.start()], lang, values), None))
        key = ref.group(1)
        parts.append((content.fact_value(key, lang) if key in content.facts else ref.group(0), key))
        last = ref.end()
    parts.append((content.render(text[last:], lang, values), None))
    return [(t, key) for t, key in parts if t or key]


def _row(content: Content, label: str, texts: dict[str, str], values: dict[str, str]) -> Row:
    return Row(label, [(lang, _marked(content, texts.get(lang, ""), lang, values)) for lang in LANGS])


def _mine(notes: Notes, prefix: str) -> Notes:
    return [(kind, text) for kind, text in notes if text.startswith(prefix)]


DEFAULT = Retention()


def render_review(directory: Path, today: dt.date | None = None, retention: Retention = DEFAULT) -> str:
    """The whole page, as one HTML document; retention figures as `retention` sets them."""
    content = load_content(directory, strict=False)
    problems, warnings = check(directory, today)
    notes = [("problem", p) for p in problems] + [("warning", w) for w in warnings]
    values = figures(retention)
    intents = [{
        "id": i.id, "reviewed": i.reviewed or "never", "options": ", ".join(i.options) or "-",
        "notes": _mine(notes, f"{i.path}:"),
        "rows": [_row(content, "title", i.title, values), _row(content, "answer", i.answer, values)]
        + ([_row(content, "more", i.more, values)] if i.more else []),
    } for i in sorted(content.intents.values(), key=lambda i: i.id)]
    system = [_row(content, key, texts, values) for key, texts in content.system.items()
              if isinstance(texts, dict) and all(isinstance(texts.get(lang), str) for lang in LANGS)]
    catalogue = [row for incident in content.catalogue.values() for row in (
        _row(content, f"{incident.id} ({incident.date}): name", incident.name, values),
        _row(content, "description", incident.description, values),
        _row(content, "data", {lang: ", ".join(d) for lang, d in incident.data.items()}, values))]
    rest = [(k, t) for k, t in notes if not t.startswith(("system.yaml:", "breaches/", "facts.yaml:"))
            and not any(t.startswith(f"{i.path}:") for i in content.intents.values())]
    return render(
        "review.html", title="Mehfooz content review", languages=[NAMES[lang] for lang in LANGS],
        problems=len(problems), warnings=len(warnings), today=dt.date.today(),
        figures=", ".join(f"{k}={v}" for k, v in values.items()), intents=intents, system=system,
        system_notes=_mine(notes, "system.yaml:"), catalogue=catalogue,
        catalogue_notes=_mine(notes, "breaches/"), facts=_facts(content, notes), other=rest)


def _facts(content: Content, notes: Notes) -> list[dict]:
    found = []
    for fact in content.facts.values():
        key_notes = [n for n in notes if n[1].startswith(f"facts.yaml: {fact.key}")
                     and n[1][len(f"facts.yaml: {fact.key}")] in " :"]
        value = " / ".join(fact.values.values()) if fact.values else fact.value
        found.append({"key": fact.key, "value": value, "about": fact.about, "notes": key_notes,
                      "checked": fact.checked, "confidence": fact.confidence,
                      "sources": [part.strip() for part in fact.source.split(";")]})
    return found


def write_review(directory: Path, out: Path, retention: Retention = DEFAULT) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_review(directory, retention=retention), encoding="utf-8")
    return out
