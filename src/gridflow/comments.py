"""Comments on a link: notes every department sees on the demand's timeline."""

from __future__ import annotations

from gridflow.errors import ForbiddenError, GridflowError, NotFoundError
from gridflow.models import Comment, WorkItem, to_ms
from gridflow.roles import Actor
from gridflow.runtime import Runtime

MAX_COMMENT = 4000


class CommentError(GridflowError):
    """An empty or over-long comment."""


def add_comment(rt: Runtime, work_item_id: int, actor: Actor, body: str) -> Comment:
    """Add a note to a link; anyone who works in the process may, auditors may not."""
    text = body.strip()
    if not text:
        raise CommentError("a comment needs some text")
    if len(text) > MAX_COMMENT:
        raise CommentError(f"a comment is at most {MAX_COMMENT} characters")
    if actor.roles <= {"auditor"}:
        raise ForbiddenError("auditors read; they do not comment")
    with rt.db.write() as session:
        item = session.get(WorkItem, work_item_id)
        if item is None:
            raise NotFoundError(f"work item {work_item_id} does not exist")
        comment = Comment(
            instance_id=item.instance_id,
            work_item_id=item.id,
            author=actor.username,
            body=text,
            at=to_ms(rt.clock.now()),
        )
        session.add(comment)
        session.flush()
        return comment
