"""Loads what the bot knows from `intents/`: intents, the fact registry, language data and
the bot's own texts. Content is data: nothing here knows any particular intent."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.understanding.normalise import LANGS

# Files in intents/ that are not intents.
RESERVED = {"facts.yaml", "lexicon.yaml", "system.yaml", "scam_rules.yaml"}
OUT_OF_SCOPE = "out_of_scope"
FACT_REF = re.compile(r"\{([a-z0-9_]+(?:\.[a-z0-9_]+)+)\}")
# The content a plain install ships inside the package (see setup.py); in a clone, the
# maintainers' `intents/` folder beside the package. BOT_INTENTS points anywhere else.
PACKAGED_DIR = Path(__file__).resolve().parent / "default"
CLONE_DIR = Path(__file__).resolve().parent.parent.parent / "intents"
DEFAULT_DIR = CLONE_DIR if CLONE_DIR.is_dir() else PACKAGED_DIR


class ContentError(Exception):
    """Content that cannot be loaded; `problems` says what and where."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Fact:
    key: str
    value: str
    about: str
    source: str
    checked: dt.date
    confidence: str


@dataclass(frozen=True)
class Intent:
    id: str
    examples: dict[str, list[str]]
    answer: dict[str, str] = field(default_factory=dict)
    title: dict[str, str] = field(default_factory=dict)
    options: tuple[str, ...] = ()
    action: str | None = None
    hints: tuple[str, ...] = ()
    reviewed: dt.date | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # action-specific data (targets, words)
    path: str = ""


@dataclass
class Content:
    intents: dict[str, Intent]
    facts: dict[str, Fact]
    lexicon: dict[str, Any]
    system: dict[str, Any]
    directory: Path

    def fact_value(self, key: str) -> str:
        return self.facts[key].value

    def render(self, template: str) -> str:
        """Replace {fact.key} references by the registered values."""
        return FACT_REF.sub(lambda m: self.fact_value(m.group(1)), template).strip()

    def answer(self, intent_id: str, lang: str) -> str:
        return self.render(self.intents[intent_id].answer[lang])

    def title(self, intent_id: str, lang: str) -> str:
        return self.intents[intent_id].title[lang]

    def text(self, key: str, lang: str, **values: str) -> str:
        """One of the bot's own texts (system.yaml), in `lang`, with {name} values filled in."""
        template = self.render(self.system[key][lang])
        return template.format(**values) if values else template

    def words(self, key: str) -> list[str]:
        """A word list from system.yaml (yes/no words and the like), all languages together."""
        return [w for words in self.system[key].values() for w in words]


# libyaml's parser when PyYAML was built with it: ten times faster on thousands of examples.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)  # noqa: S506 - a safe loader
    except (OSError, yaml.YAMLError) as exc:
        problems.append(f"{path.name}: cannot read: {exc}")
        return None


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _load_facts(path: Path, problems: list[str]) -> dict[str, Fact]:
    raw = _read_yaml(path, problems) or {}
    facts = {}
    for key, item in raw.items():
        missing = [f for f in ("value", "source", "checked") if not (item or {}).get(f)]
        if missing:
            problems.append(f"facts.yaml: {key}: missing {', '.join(missing)}")
            continue
        checked = _as_date(item["checked"])
        if checked is None:
            problems.append(f"facts.yaml: {key}: 'checked' is not a date")
            continue
        facts[key] = Fact(
            key, str(item["value"]), item.get("about", ""), str(item["source"]), checked,
            item.get("confidence", "unknown"),
        )
    return facts


_INTENT_KEYS = {"id", "examples", "answer", "title", "options", "action", "hints", "reviewed"}


def _load_intent(path: Path, problems: list[str]) -> Intent | None:
    raw = _read_yaml(path, problems)
    if not isinstance(raw, dict) or "id" not in raw:
        problems.append(f"{path.name}: not an intent file (no 'id')")
        return None
    if raw["id"] != path.stem:
        problems.append(f"{path.name}: id '{raw['id']}' does not match the file name")
    examples = raw.get("examples") or {}
    if not isinstance(examples, dict):
        problems.append(f"{path.name}: 'examples' must map languages to lists")
        examples = {}
    return Intent(
        id=str(raw["id"]),
        examples={lang: [str(e) for e in (examples.get(lang) or [])] for lang in examples},
        answer={k: str(v) for k, v in (raw.get("answer") or {}).items()},
        title={k: str(v) for k, v in (raw.get("title") or {}).items()},
        options=tuple(raw.get("options") or ()),
        action=raw.get("action"),
        hints=tuple(str(h).casefold() for h in raw.get("hints") or ()),
        reviewed=_as_date(raw.get("reviewed")),
        extra={k: v for k, v in raw.items() if k not in _INTENT_KEYS},
        path=path.name,
    )


def load_content(directory: Path | str = DEFAULT_DIR, strict: bool = True) -> Content:
    """Read every file of `directory`. With `strict`, any problem raises ContentError;
    otherwise problems are left to `bot.content.check` to report."""
    directory = Path(directory)
    problems: list[str] = []
    intents = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name in RESERVED:
            continue
        intent = _load_intent(path, problems)
        if intent:
            intents[intent.id] = intent
    content = Content(
        intents=intents,
        facts=_load_facts(directory / "facts.yaml", problems),
        lexicon=_read_yaml(directory / "lexicon.yaml", problems) or {},
        system=_read_yaml(directory / "system.yaml", problems) or {},
        directory=directory,
    )
    problems += _structural_problems(content)
    if problems and strict:
        raise ContentError(problems)
    return content


def _structural_problems(content: Content) -> list[str]:
    """What would break the bot at run time: missing languages, unknown facts and options."""
    problems = []
    for intent in content.intents.values():
        where = intent.path
        for lang in LANGS:
            if not intent.examples.get(lang):
                problems.append(f"{where}: no examples in '{lang}'")
            if intent.id != OUT_OF_SCOPE:
                for part in ("answer", "title"):
                    if not getattr(intent, part).get(lang, "").strip():
                        problems.append(f"{where}: no {part} in '{lang}'")
        for text in intent.answer.values():
            for key in FACT_REF.findall(text):
                if key not in content.facts:
                    problems.append(f"{where}: unknown fact key '{{{key}}}'")
        for option in intent.options:
            if option not in content.intents or option == OUT_OF_SCOPE:
                problems.append(f"{where}: option '{option}' is not an intent")
    for key, texts in content.system.items():
        if isinstance(texts, dict):
            for lang in LANGS:
                if lang not in texts:
                    problems.append(f"system.yaml: {key}: no text in '{lang}'")
    return problems
