"""Replies that come later: an outcome's slow work (an HIBP lookup) runs off the event loop
after the message's transaction. Ready within FOLLOW_UP_AFTER seconds, its replies are the
answer; otherwise the person gets the "checking…" reply now and the result as a message of
its own when it is ready (Telegram `sendMessage`; WhatsApp through Twilio's Messages API)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.dialogue.core import Outcome
from bot.dialogue.messages import Reply
from bot.ops.work_queue import WorkQueue

FOLLOW_UP_AFTER = 1.0  # seconds slow work may take and still be the answer itself
log = logging.getLogger(__name__)
Send = Callable[[list[Reply]], Awaitable[None]]


async def settle(work: WorkQueue, who: str, outcome: Outcome, send_later: Send | None,
                 wait: float = FOLLOW_UP_AFTER) -> list[Reply]:
    """The replies to give now. Without `send_later` (no way to send a message later), the
    slow work is waited for in full (in a thread: the loop goes on)."""
    if outcome.later is None:
        return outcome.replies
    task = asyncio.ensure_future(work.slow(who, outcome.later))
    if send_later is None:
        return await _result(task) or outcome.replies
    done, _ = await asyncio.wait({task}, timeout=wait)
    if done:
        return await _result(task) or outcome.replies
    work.keep(asyncio.ensure_future(_follow_up(task, send_later)))
    return outcome.replies


async def _result(task: asyncio.Future[list[Reply]]) -> list[Reply]:
    try:
        return await task
    except Exception:  # a bug in slow work: the "checking…" stands, the person can ask again
        log.exception("slow work failed")
        return []


async def _follow_up(task: asyncio.Future[list[Reply]], send: Send) -> None:
    replies = await _result(task)
    if not replies:
        return
    try:
        await send(replies)
    except Exception as exc:  # the channel refused it: logged without the text or the person
        log.warning("follow-up not sent: %s", type(exc).__name__)
