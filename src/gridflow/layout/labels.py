"""Labels: how wide and tall a name is once bpmn-js wraps it (roughly, in its 12 px Arial), and
where the label of an event, a gateway or a sequence flow goes."""

from __future__ import annotations

import math
import unicodedata

from gridflow.layout.geometry import LABEL_GAP, LABEL_LINE_H, LABEL_MAX_W, Point, Rect


def _char_width(ch: str) -> float:
    """A rough width in px of one character in bpmn-js' 12 px Arial."""
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 12.0
    if ch in "il.,:;'|!":
        return 3.0
    if ch in "fjrtI()[]- ":
        return 4.0
    if ch in "mwMW":
        return 10.0
    if ch.isupper():
        return 8.0
    return 6.5


def _label_size(text: str) -> tuple[int, int]:
    """Width and height of a label wrapped at LABEL_MAX_W, as bpmn-js lays it out roughly."""
    lines: list[float] = []
    current = 0.0
    space = _char_width(" ")
    for word in text.split():
        chunks: list[float] = []
        width = 0.0
        for ch in word:
            w = _char_width(ch)
            if width + w > LABEL_MAX_W and width > 0:
                chunks.append(width)
                width = 0.0
            width += w
        chunks.append(width)
        for chunk in chunks:
            if current > 0 and current + space + chunk <= LABEL_MAX_W:
                current += space + chunk
            else:
                if current > 0:
                    lines.append(current)
                current = chunk
    if current > 0:
        lines.append(current)
    if not lines:
        return 0, 0
    return min(LABEL_MAX_W, max(1, math.ceil(max(lines)))), LABEL_LINE_H * len(lines)


def _flow_label(points: list[Point], text: str) -> Rect | None:
    """A flow's label: above a straight flow, else beside its first vertical segment."""
    width, height = _label_size(text)
    if not width:
        return None
    (x1, y1), (x2, y2) = points[0], points[1]
    if y1 == y2 and len(points) > 2:  # leaves horizontally, then turns
        x1, y1 = x2, y2
        y2 = points[2][1]
    if y1 == y2:
        return Rect(x1 + 5, y1 - height - 3, width, height)
    return Rect(x1 + 5, (y1 + y2) // 2 - height // 2, width, height)


def _label_below(rect: Rect, text: str) -> Rect | None:
    width, height = _label_size(text)
    if not width:
        return None
    return Rect(rect.cx - width // 2, rect.bottom + LABEL_GAP, width, height)
