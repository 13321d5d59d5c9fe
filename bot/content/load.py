"""Loads what the bot knows from `intents/`: intents, the fact registry, language data and
the bot's own texts. Content is data: nothing here knows any particular intent."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.understanding.normalise import LANGS

# Files in intents/ that are not intents.
RESERVED = {"facts.yaml", "lexicon.yaml", "system.yaml", "scam_rules.yaml", "glossary.yaml"}
OUT_OF_SCOPE = "out_of_scope"
CATALOGUE = "breaches/catalogue.yaml"  # the known incidents, in the person's language
REPORT = "breaches/report.yaml"  # how a breach report is worded: kinds of data, months, counts
FACT_REF = re.compile(r"\{([a-z0-9_]+(?:\.[a-z0-9_]+)+)\}")
# A value the code fills in, such as a retention period: "{state_days}" (no dot).
VALUE_REF = re.compile(r"\{([a-z][a-z0-9_]*)\}")
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
    value: str  # as shown in English (and in every language when `values` is empty)
    about: str
    source: str
    checked: dt.date
    confidence: str
    values: dict[str, str] = field(default_factory=dict)  # a date or hours, worded per language

    def shown(self, lang: str) -> str:
        return self.values.get(lang, self.value)


@dataclass(frozen=True)
class Incident:
    """A known incident of the breach catalogue, worded in each language (facts by key)."""

    id: str
    date: str
    name: dict[str, str]
    description: dict[str, str]
    data: dict[str, list[str]]
    source: str


@dataclass(frozen=True)
class Intent:
    id: str
    examples: dict[str, list[str]]
    answer: dict[str, str] = field(default_factory=dict)
    more: dict[str, str] = field(default_factory=dict)  # the rest of the answer, on request
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
    catalogue: dict[str, Incident] = field(default_factory=dict)
    glossary: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)  # breaches/report.yaml

    def fact_value(self, key: str, lang: str = "en") -> str:
        return self.facts[key].shown(lang)

    def render(self, template: str, lang: str = "en", values: Mapping[str, str] | None = None) -> str:
        """Replace {fact.key} references by the registered values in `lang`, and {name}
        references by `values` (names not given are left as they are)."""
        text = FACT_REF.sub(lambda m: self.fact_value(m.group(1), lang), template)
        if values:
            text = VALUE_REF.sub(lambda m: values.get(m.group(1), m.group(0)), text)
        return text.strip()

    def answer(self, intent_id: str, lang: str, values: Mapping[str, str] | None = None) -> str:
        """An intent's answer in `lang`; `values` fills {name} figures such as retention days."""
        return self.render(self.intents[intent_id].answer[lang], lang, values)

    def more(self, intent_id: str, lang: str, values: Mapping[str, str] | None = None) -> str:
        """The rest of an intent's answer ("more"), in `lang`; empty when it has none."""
        text = self.intents[intent_id].more.get(lang, "")
        return self.render(text, lang, values) if text else ""

    def title(self, intent_id: str, lang: str) -> str:
        return self.intents[intent_id].title[lang]

    def text(self, key: str, lang: str, **values: str) -> str:
        """One of the bot's own texts (system.yaml), in `lang`, with {name} values filled in."""
        template = self.render(self.system[key][lang], lang)
        return template.format(**values) if values else template

    def words(self, key: str) -> list[str]:
        """A word list from system.yaml (yes/no words and the like), all languages together."""
        return [w for words in self.system[key].values() for w in words]


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser when PyYAML was built with it (ten times faster on thousands of
    examples), and a key written twice in one mapping refused: YAML would keep the last one
    silently, and a second `official:` in the glossary once hid the first."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"the key {key!r} is written twice",
                                                        key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


SAFE_LOADER = _Loader


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
        value = item["value"]
        values = {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}
        if values and set(values) != set(LANGS):
            problems.append(f"facts.yaml: {key}: a value by language needs {', '.join(LANGS)}")
            continue
        facts[key] = Fact(
            key, values.get("en", str(value)), item.get("about", ""), str(item["source"]), checked,
            item.get("confidence", "unknown"), values,
        )
    return facts


def _by_lang(raw: Any) -> dict[str, Any]:
    return {str(k): v for k, v in raw.items()} if isinstance(raw, dict) else {}


def _load_catalogue(path: Path, problems: list[str]) -> dict[str, Incident]:
    """The incident catalogue: every entry needs its name, description and data in each language."""
    if not path.exists():
        return {}
    incidents = {}
    for item in _read_yaml(path, problems) or []:
        if not isinstance(item, dict) or not item.get("id"):
            problems.append(f"{CATALOGUE}: an entry without an id")
            continue
        name, description, data = (_by_lang(item.get(k)) for k in ("name", "description", "data"))
        missing = [f"{part} in '{lang}'" for part, texts in
                   (("name", name), ("description", description), ("data", data))
                   for lang in LANGS if not texts.get(lang)]
        if missing:
            problems.append(f"{CATALOGUE}: {item['id']}: no {', '.join(missing)}")
            continue
        incidents[str(item["id"])] = Incident(
            str(item["id"]), str(item.get("date", "")), {k: str(v) for k, v in name.items()},
            {k: str(v) for k, v in description.items()},
            {k: [str(d) for d in v] for k, v in data.items()}, str(item.get("source", "")),
        )
    return incidents


_INTENT_KEYS = {"id", "examples", "answer", "more", "title", "options", "action", "hints", "reviewed"}


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
        more={k: str(v) for k, v in (raw.get("more") or {}).items()},
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
        catalogue=_load_catalogue(directory / CATALOGUE, problems),
        glossary=(_read_yaml(directory / "glossary.yaml", problems) or {})
        if (directory / "glossary.yaml").exists() else {},
        report=(_read_yaml(directory / REPORT, problems) or {}) if (directory / REPORT).exists() else {},
    )
    problems += _structural_problems(content)
    if problems and strict:
        raise ContentError(problems)
    return content


def _texts_problems(content: Content, intent: Intent) -> list[str]:
    """A flow's own texts (`texts:` in its intent file) follow the rules of system.yaml."""
    problems = []
    for key, texts in (intent.extra.get("texts") or {}).items():
        for lang in LANGS:
            if not isinstance(texts, dict) or not str(texts.get(lang) or "").strip():
                problems.append(f"{intent.path}: texts: {key}: no text in '{lang}'")
            else:
                problems += [f"{intent.path}: texts: {key}: unknown fact key '{{{ref}}}'"
                             for ref in FACT_REF.findall(str(texts[lang])) if ref not in content.facts]
    return problems


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
        if intent.more:
            problems += [f"{where}: no more in '{lang}'" for lang in LANGS
                         if not intent.more.get(lang, "").strip()]
        for text in [*intent.answer.values(), *intent.more.values()]:
            for key in FACT_REF.findall(text):
                if key not in content.facts:
                    problems.append(f"{where}: unknown fact key '{{{key}}}'")
        for option in intent.options:
            if option not in content.intents or option == OUT_OF_SCOPE:
                problems.append(f"{where}: option '{option}' is not an intent")
        problems += _texts_problems(content, intent)
    for key, texts in content.system.items():
        if isinstance(texts, dict):
            for lang in LANGS:
                if lang not in texts:
                    problems.append(f"system.yaml: {key}: no text in '{lang}'")
    problems += _report_problems(content)
    for where, _lang, text in shown_texts(content):
        if not where.endswith((": answer", ": more")):  # checked above
            problems += [f"{where}: unknown fact key '{{{key}}}'" for key in FACT_REF.findall(text)
                         if key not in content.facts]
    return problems


def _report_problems(content: Content) -> list[str]:
    """breaches/report.yaml: every kind of data worded in each language, with known steps;
    twelve months and the count words in each language."""
    report, problems = content.report, []
    kinds = report.get("data_types")
    if not isinstance(kinds, dict) or "other" not in kinds:
        return [f"{REPORT}: data_types: a mapping of kinds of data, 'other' among them"]
    for kind, entry in kinds.items():
        where = f"{REPORT}: data_types: {kind}"
        if not isinstance(entry, dict) or not isinstance(entry.get("names"), list):
            problems.append(f"{where}: needs 'names' (a list) and a word in each language")
            continue
        problems += [f"{where}: no word in '{lang}'" for lang in LANGS
                     if not str(entry.get(lang) or "").strip()]
        step = entry.get("step")
        if step is not None and not isinstance(content.system.get(step), dict):
            problems.append(f"{where}: step '{step}' is not a text of system.yaml")
    months, counts = _by_lang(report.get("months")), _by_lang(report.get("count_words"))
    for lang in LANGS:
        if not isinstance(months.get(lang), list) or len(months[lang]) != 12:
            problems.append(f"{REPORT}: months: twelve names in '{lang}'")
        units = counts.get(lang)
        if not isinstance(units, list) or not all(
                isinstance(u, dict) and isinstance(u.get("zeros"), int) and u.get("word") for u in units):
            problems.append(f"{REPORT}: count_words: a list of {{zeros, word}} in '{lang}'")
    return problems


def shown_texts(content: Content) -> list[tuple[str, str, str]]:
    """Every text the bot shows, as (where, language, text): intent titles and answers, its own
    texts and the incident catalogue. (Scam explanations live with the scam rules.)"""
    found = []
    for intent in content.intents.values():
        for part in ("title", "answer", "more"):
            found += [(f"{intent.path}: {part}", lang, text) for lang, text in getattr(intent, part).items()]
    for key, texts in content.system.items():
        if isinstance(texts, dict):
            found += [(f"system.yaml: {key}", lang, text)
                      for lang, text in texts.items() if isinstance(text, str)]
    for incident in content.catalogue.values():
        where = f"{CATALOGUE}: {incident.id}"
        for lang in LANGS:
            found += [(f"{where}: name", lang, incident.name[lang]),
                      (f"{where}: description", lang, incident.description[lang])]
            found += [(f"{where}: data", lang, item) for item in incident.data[lang]]
    for kind, entry in (content.report.get("data_types") or {}).items():
        if isinstance(entry, dict):
            found += [(f"{REPORT}: data_types: {kind}", lang, str(entry[lang]))
                      for lang in LANGS if entry.get(lang)]
    for part in ("months", "count_words"):
        for lang, items in _by_lang(content.report.get(part)).items():
            words = [str(i.get("word", "")) if isinstance(i, dict) else str(i) for i in items or []]
            found += [(f"{REPORT}: {part}", str(lang), " ".join(words))]
    return found
