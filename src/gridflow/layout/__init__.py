"""Generate BPMN diagram information (BPMNDI) for BPMN 2.0 files written by hand.

The layout is a grid: columns are the flow nodes' ranks (longest path from the start events
over sequence flows, back edges of loops ignored), rows are the lanes of the pool stacked in
document order, each lane split into as many sub-rows as its busiest column needs.  Boundary
events sit on the bottom edge of the activity they are attached to.  Sequence flows are drawn
with orthogonal waypoints: vertical segments run in the free gaps between columns, detours
and loops run in the free channels along the top and bottom of a row, so no flow crosses a
shape.  Sizes follow Camunda Modeler (tasks 100x80, events 36x36, gateways 50x50).

Only the new ``bpmndi:BPMNDiagram`` is added (plus the ``bpmndi``/``dc``/``di`` namespace
declarations on the root when they are missing); every other byte of the file is kept.
With ``replace`` an existing diagram is removed first.

Usage: ``python -m gridflow.layout [--replace] FILE...``

The package, by concern: `geometry` (measurements, rectangles, segments), `labels`, `model`
(what is read and what is drawn), `grid` (ranks, rows, places and routes of one process),
`diagrams` (pools, message flows, sub-process diagrams), `source` (rendering and splicing into
the file's text) and `document` (the entry points and the command line).
"""

from gridflow.layout.document import layout_document, layout_file, main

__all__ = ["layout_document", "layout_file", "main"]
