"""Every flow, imported once so that each registers its actions, choices and pending
questions in `bot.dialogue.registry`. The core imports this; no flow imports the core."""

from bot.dialogue import (  # noqa: F401
    alerts_flow,
    breach_flow,
    desk_flow,
    details_flow,
    feedback_flow,
    greeting_flow,
    language_flow,
    privacy_flow,
    scam_flow,
    tipline_flow,
)
