"""The HTML pages' templates (`bot/templates/`, shipped inside the package): one Jinja2
environment for every page, with autoescaping on, so that what people typed (misses, masked
scams) is shown as text and never run. The admin page renders them through Starlette's
`Jinja2Templates` (bot/ops/admin.py); `intents review` writes a static page with them
(bot/content/review.py). Nothing in them is fetched from elsewhere: styles are inline, charts
are inline SVG."""

from __future__ import annotations

import functools
import re
from typing import Any

import jinja2
from markupsafe import Markup

# Bidirectional controls (embeddings, overrides, isolates, marks) in what people typed would
# reorder the page around them (U+202E turns "gpj.exe" around): shown as their code instead.
_BIDI = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")


def visible(value: Any) -> Any:
    """Every value a template shows, before autoescaping: bidi controls made visible."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _BIDI.sub(lambda m: f"[U+{ord(m.group()):04X}]", value)
    return value


@functools.cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("bot", "templates"),
        autoescape=True,  # every template: all of them are HTML
        finalize=visible,
        undefined=jinja2.StrictUndefined,  # a name the code forgot is an error, not an empty cell
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)
