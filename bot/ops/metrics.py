"""Prometheus metrics of the web service, in a registry of its own (one per app)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

# The tipline's counts, read from the state store at each scrape (shared by every worker): no
# per-person figure, only totals.
TIPLINE = {
    "groups": ("mehfooz_scam_groups", "Groups of forwarded scams kept (the tipline)"),
    "confirmed": ("mehfooz_scam_groups_confirmed", "Groups of forwarded scams staff gave a verdict on"),
    "followups_sent": ("mehfooz_scam_followups_sent", "Messages telling people staff's verdict, sent"),
}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages = Counter(
            "mehfooz_messages", "Messages handled, by channel and intent", ["channel", "intent"],
            registry=self.registry,
        )
        self.fallbacks = Counter(
            "mehfooz_fallbacks", "Messages the bot did not understand", ["channel"],
            registry=self.registry,
        )
        self.outcomes = Counter(
            "mehfooz_outcomes", "Messages by outcome (answered, duplicate, rate_limited, silenced)",
            ["channel", "outcome"], registry=self.registry,
        )
        self.rejected = Counter(
            "mehfooz_rejected_requests", "Webhook requests refused, by reason", ["channel", "reason"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mehfooz_latency_seconds", "Time to handle one webhook request", ["channel"],
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )

    def watch_tipline(self, counts: Callable[[], dict[str, int]]) -> None:
        """Report the tipline's counts (TIPLINE) from `counts()` at each scrape."""
        self.registry.register(_TiplineCounts(counts))

    def handled(self, channel: str, status: str, intent: str | None) -> None:
        self.outcomes.labels(channel, status).inc()
        if status == "answered" and intent:
            self.messages.labels(channel, intent).inc()
            if intent == "fallback":
                self.fallbacks.labels(channel).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _TiplineCounts(Collector):
    def __init__(self, counts: Callable[[], dict[str, int]]):
        self.counts = counts

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        try:
            found = self.counts()
        except Exception:  # a store that does not answer: no figures this time, not a failed scrape
            return
        for key, (name, about) in TIPLINE.items():
            kind = CounterMetricFamily if key == "followups_sent" else GaugeMetricFamily
            yield kind(name, about, value=found.get(key, 0))
