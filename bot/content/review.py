"""`intents review`: one static HTML page for reviewers. Every answer side by side in the three
languages (facts filled in and marked), the facts with source, check date and confidence, and
what `intents check` says, next to the text it is about. No server, no script."""

from __future__ import annotations

import datetime as dt
from html import escape
from pathlib import Path

from bot.content.check import check
from bot.content.load import FACT_REF, Content, load_content
from bot.dialogue.kept import figures
from bot.state.sqlite_store import Retention
from bot.understanding.normalise import LANGS

NAMES = {"en": "English", "roman_ur": "Roman Urdu", "ur": "اردو"}
STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;line-height:1.45}
table{border-collapse:collapse;width:100%;margin-bottom:1.5em}
td,th{border:1px solid #ccc;padding:.4em;vertical-align:top;white-space:pre-wrap}
th{background:#f3f3f3;text-align:left}
td[dir=rtl]{font-family:'Noto Nastaliq Urdu','Jameel Noori Nastaleeq',serif;text-align:right}
.fact{background:#e8f0fe;border-bottom:1px dotted #246}
.problem{color:#a00}.warning{color:#a60}
ul.notes{margin:.2em 0 .8em}
"""


def _marked(content: Content, text: str, lang: str, values: dict[str, str]) -> str:
    """The text as shown, each fact's value marked with its key (hover shows it)."""
    parts, last = [], 0
    for ref in FACT_REF.finditer(text):
        parts.append(escape(content.render(text[last:ref.start()], lang, values), quote=False))
        key = ref.group(1)
        shown = content.fact_value(key, lang) if key in content.facts else ref.group(0)
        parts.append(f'<span class="fact" title="{escape(key)}">{escape(shown)}</span>')
        last = ref.end()
    parts.append(escape(content.render(text[last:], lang, values), quote=False))
    return "".join(parts).strip()


def _notes(notes: list[tuple[str, str]], prefix: str) -> str:
    mine = [(kind, text) for kind, text in notes if text.startswith(prefix)]
    if not mine:
        return ""
    items = "".join(f'<li class="{kind}">{kind}: {escape(text)}</li>' for kind, text in mine)
    return f'<ul class="notes">{items}</ul>'


def _row(content: Content, label: str, texts: dict[str, str], values: dict[str, str]) -> str:
    cells = "".join(
        f'<td lang="{lang}"{" dir=rtl" if lang == "ur" else ""}>'
        f'{_marked(content, texts.get(lang, ""), lang, values)}</td>'
        for lang in LANGS
    )
    return f"<tr><th>{escape(label)}</th>{cells}</tr>"


def _head() -> str:
    return "<tr><th></th>" + "".join(f"<th>{NAMES[lang]}</th>" for lang in LANGS) + "</tr>"


DEFAULT = Retention()


def render_review(directory: Path, today: dt.date | None = None, retention: Retention = DEFAULT) -> str:
    """The whole page, as one HTML document; retention figures as `retention` sets them."""
    content = load_content(directory, strict=False)
    problems, warnings = check(directory, today)
    notes = [("problem", p) for p in problems] + [("warning", w) for w in warnings]
    values = figures(retention)
    shown = escape(", ".join(f"{k}={v}" for k, v in values.items()))
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>Mehfooz content review</title>"
           f"<style>{STYLE}</style></head><body><h1>Mehfooz content review</h1>",
           f"<p>{len(problems)} problem(s), {len(warnings)} warning(s); made {dt.date.today()}; "
           f"retention figures as configured: {shown}.</p>"]
    out.append('<h2 id="intents">Answers</h2>')
    for intent in sorted(content.intents.values(), key=lambda i: i.id):
        out.append(f'<h3 id="intent-{escape(intent.id)}">{escape(intent.id)}</h3>')
        options = escape(", ".join(intent.options) or "-")
        out.append(f"<p>reviewed {intent.reviewed or 'never'}; options: {options}</p>")
        out.append(_notes(notes, f"{intent.path}:"))
        out.append(f"<table>{_head()}{_row(content, 'title', intent.title, values)}"
                   f"{_row(content, 'answer', intent.answer, values)}"
                   f"{_row(content, 'more', intent.more, values) if intent.more else ''}</table>")
    out.append('<h2 id="system">The bot\'s own texts</h2><table>' + _head())
    for key, texts in content.system.items():
        if isinstance(texts, dict) and all(isinstance(texts.get(lang), str) for lang in LANGS):
            out.append(_row(content, key, texts, values))
    out.append("</table>" + _notes(notes, "system.yaml:"))
    out.append('<h2 id="catalogue">Incident catalogue</h2><table>' + _head())
    for incident in content.catalogue.values():
        out.append(_row(content, f"{incident.id} ({incident.date}): name", incident.name, values))
        out.append(_row(content, "description", incident.description, values))
        out.append(_row(content, "data", {lang: ", ".join(d) for lang, d in incident.data.items()}, values))
    out.append("</table>" + _notes(notes, "breaches/"))
    out.append(_facts(content, notes))
    rest = [(k, t) for k, t in notes if not t.startswith(("system.yaml:", "breaches/", "facts.yaml:"))
            and not any(t.startswith(f"{i.path}:") for i in content.intents.values())]
    out.append('<h2 id="other">Other notes</h2>' + (_notes(rest, "") or "<p>none</p>"))
    out.append("</body></html>")
    return "\n".join(out)


def _facts(content: Content, notes: list[tuple[str, str]]) -> str:
    heads = ("key", "value", "about", "source", "checked", "confidence")
    rows = ["<tr>" + "".join(f"<th>{h}</th>" for h in heads) + "</tr>"]
    for fact in content.facts.values():
        value = " / ".join(fact.values.values()) if fact.values else fact.value
        links = [escape(part.strip()) for part in fact.source.split(";")]
        source = "; ".join(f'<a href="{p}">{p}</a>' if p.startswith("http") else p for p in links)
        key_notes = [n for n in notes if n[1].startswith(f"facts.yaml: {fact.key}")
                     and n[1][len(f"facts.yaml: {fact.key}")] in " :"]
        own = _notes(key_notes, "")
        rows.append(f'<tr id="fact-{escape(fact.key)}"><td>{escape(fact.key)}</td><td>{escape(value)}</td>'
                    f"<td>{escape(fact.about)}{own}</td><td>{source}</td><td>{fact.checked}</td>"
                    f"<td>{escape(fact.confidence)}</td></tr>")
    return '<h2 id="facts">Facts</h2><table>' + "".join(rows) + "</table>"


def write_review(directory: Path, out: Path, retention: Retention = DEFAULT) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_review(directory, retention=retention), encoding="utf-8")
    return out
