"""BodyLimit on its own: a body that comes in parts across the slow mark arrives whole, a
body past the time limit is refused with 408, and the count of slow bodies goes back down."""

from __future__ import annotations

import asyncio

from bot.ops.bodies import BodyLimit, Refused


def run(parts: list[tuple[float, bytes]], **limits: float) -> tuple[list[dict], list[bytes], list[str], int]:
    """Send `parts` (a wait, then a chunk) through a BodyLimit; what was sent back, the bodies
    the app got, the reasons refused, and the slow count at the end."""
    got: list[bytes] = []
    sent: list[dict] = []
    refused: list[str] = []

    async def app(scope, receive, send) -> None:  # noqa: ANN001
        got.append((await receive())["body"])

    limit = BodyLimit(app, refused=lambda path, r: refused.append(r.reason), **limits)

    async def main() -> None:
        queue = list(parts)

        async def receive() -> dict:  # as uvicorn's: waits first, then takes what came
            if not queue:
                return {"type": "http.disconnect"}
            await asyncio.sleep(queue[0][0])
            _, chunk = queue.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(queue)}

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {"type": "http", "path": "/whatsapp", "headers": [(b"content-length", b"9")]}
        await limit(scope, receive, send)

    asyncio.run(main())
    return sent, got, refused, limit.slow


def test_a_body_in_parts_across_the_slow_mark_arrives_whole():
    sent, got, refused, slow = run([(0, b"abc"), (0.15, b"def"), (0.15, b"ghi")], slow_after=0.1, timeout=2)
    assert got == [b"abcdefghi"] and not refused and slow == 0


def test_a_body_at_once_is_read_at_once():
    _, got, refused, _ = run([(0, b"abc"), (0, b"def")], slow_after=0.1, timeout=2)
    assert got == [b"abcdef"] and not refused


def test_a_body_too_slow_is_refused_with_408_and_the_slow_count_goes_back():
    sent, got, refused, slow = run([(0, b"abc"), (0.5, b"def")], slow_after=0.1, timeout=0.3)
    assert not got and refused == ["body_timeout"] and slow == 0
    assert sent[0]["status"] == 408 and (b"connection", b"close") in sent[0]["headers"]


def test_past_the_cap_of_slow_bodies_a_slow_one_is_refused_at_once():
    sent, got, refused, _ = run([(0.2, b"abc")], slow_after=0.1, timeout=2, max_slow=0)
    assert not got and refused == ["slow_body"] and sent[0]["status"] == 408


def test_refused_is_a_4xx():
    assert 400 <= Refused(408, "x").status < 500
