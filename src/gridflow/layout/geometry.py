"""The grid's measurements (shape sizes as Camunda Modeler draws them, column and row sizes,
bands, gaps, channel tracks, label sizes) and the integer geometry the layout is drawn with:
rectangles and axis-parallel segments."""

from __future__ import annotations

from dataclasses import dataclass

TASK_SIZE = (100, 80)
EVENT_SIZE = (36, 36)
GATEWAY_SIZE = (50, 50)
COL_W = 160  # one column: the widest shape (100) plus a 60 px gap for vertical segments
ROW_H = 160  # one sub-row: the tallest shape (80) plus room for boundary events and channels
BAND = 30  # the label band on the left of a pool or lane
CONTENT_MARGIN = 20  # between the innermost label band and the first column
POOL_X = 160
POOL_Y = 80
POOL_GAP = 60  # between stacked pools
BLACK_BOX_H = 100  # a participant without a process
PLAIN_X = 100  # left of the first column when there is no pool
PLAIN_Y = 60  # top of the first row when there is no pool
CHANNEL_OFFSET = 8  # first channel track, from the row's top or bottom border
TRACK_STEP = 6
MAX_TRACKS = 3
BOUNDARY_SPACING = 40  # between the centres of boundary events on one activity
LABEL_MAX_W = 90
LABEL_LINE_H = 14
LABEL_GAP = 7  # between a shape's bottom and its label


Point = tuple[int, int]


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle with integer coordinates."""

    x: int
    y: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def bottom(self) -> int:
        return self.y + self.height

    @property
    def cx(self) -> int:
        return self.x + self.width // 2

    @property
    def cy(self) -> int:
        return self.y + self.height // 2

    def contains(self, other: Rect) -> bool:
        """True if ``other`` lies inside this rectangle (borders may touch)."""
        return (
            self.x <= other.x
            and self.y <= other.y
            and other.right <= self.right
            and other.bottom <= self.bottom
        )

    def overlaps(self, other: Rect) -> bool:
        """True if the interiors of the two rectangles intersect."""
        return (
            self.x < other.right
            and other.x < self.right
            and self.y < other.bottom
            and other.y < self.bottom
        )

    def on_border(self, point: Point, tolerance: int = 1) -> bool:
        """True if ``point`` lies on the border of this rectangle."""
        px, py = point
        inside = (
            self.x - tolerance <= px <= self.right + tolerance
            and self.y - tolerance <= py <= self.bottom + tolerance
        )
        near = min(abs(px - self.x), abs(px - self.right), abs(py - self.y), abs(py - self.bottom))
        return inside and near <= tolerance


def _segment_hits(a: Point, b: Point, rect: Rect, margin: int = 2) -> bool:
    """True if the axis-parallel segment a-b passes through ``rect`` grown by ``margin``."""
    x1, x2 = sorted((a[0], b[0]))
    y1, y2 = sorted((a[1], b[1]))
    rx1, ry1 = rect.x - margin, rect.y - margin
    rx2, ry2 = rect.right + margin, rect.bottom + margin
    if x1 == x2:
        return rx1 < x1 < rx2 and max(y1, ry1) < min(y2, ry2)
    if y1 == y2:
        return ry1 < y1 < ry2 and max(x1, rx1) < min(x2, rx2)
    return Rect(x1, y1, x2 - x1, y2 - y1).overlaps(Rect(rx1, ry1, rx2 - rx1, ry2 - ry1))


def _simplify(points: list[Point]) -> list[Point]:
    """Drop repeated points and the middle one of three collinear points."""
    out: list[Point] = []
    for p in points:
        if out and out[-1] == p:
            continue
        if len(out) >= 2:
            a, b = out[-2], out[-1]
            if (a[0] == b[0] == p[0]) or (a[1] == b[1] == p[1]):
                out[-1] = p
                continue
        out.append(p)
    return out
