"""Short garbage-collection pauses in the web service.

Python's full collection walks every object that could be in a cycle. After start-up that is
about 90,000 objects (libraries, content, the classifier's tables), and one walk took 30-70 ms
on the project's machine: a reply that happens to wait for it misses the 20 ms goal. Those
objects live as long as the process, so they are moved out of the collector's sight
(`gc.freeze`) once start-up is done and again after each content reload; full collections
then walk only what messages create."""

from __future__ import annotations

import gc


def freeze_long_lived() -> None:
    """Collect what is garbage now, then exempt every surviving object from later
    collections. After a reload the frozen set is thawed first, so that the old content, if
    any of it sits in a cycle, is collected rather than kept for good."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
