"""Insights over a store: overview, hotspots, flows, sessions.

``Segment`` (core/segment.py) is the one filter object every view takes,
carried by ``InsightQuery.segment``."""

from ..core.segment import Segment

__all__ = ["Segment"]
