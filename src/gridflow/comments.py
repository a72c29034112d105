"""Comments on a link: notes every department sees on the demand's timeline."""

from __future__ import annotations

from sqlalchemy import select

from gridflow import access
from gridflow.errors import ForbiddenError, GridflowError, NotFoundError
from gridflow.models import Comment, LinkHelper, WorkItem, to_ms
from gridflow.roles import Actor
from gridflow.runtime import Runtime

# `gettext` only marks a refusal for the catalogue; the page translates it (texts.refusal).
from gridflow.texts import _ as gettext

MAX_COMMENT = 4000


class CommentError(GridflowError):
    """An empty or over-long comment."""


def add_comment(
    rt: Runtime, work_item_id: int, actor: Actor, body: str, *, for_customer: bool = False
) -> Comment:
    """Add a note to a link: those who may view it and hold work may (auditors read). One
    `for_customer` is shown on the customer's timeline too (the reason a link is late)."""
    text = body.strip()
    if not text:
        raise CommentError(gettext("a comment needs some text"))
    if len(text) > MAX_COMMENT:
        raise CommentError(gettext("a comment is at most %(max)s characters"), max=MAX_COMMENT)
    if "\x00" in text:
        raise CommentError(gettext("a comment cannot contain NUL characters"))
    with rt.db.write() as session:
        item = session.get(WorkItem, work_item_id)
        if item is None:
            raise NotFoundError(gettext("work item %(id)s does not exist"), id=work_item_id)
        helpers = session.scalars(
            select(LinkHelper.username).where(LinkHelper.work_item_id == item.id)
        ).all()
        if not access.may_comment_link(actor, item, helpers):
            if not actor.holds_work:
                raise ForbiddenError(
                    gettext("read-only accounts (auditors, designers) do not comment")
                )
            raise ForbiddenError(
                gettext("%(link)s belongs to role %(role)s, not to yours"),
                link=item.link_name,
                role=repr(item.role),
            )
        comment = Comment(
            instance_id=item.instance_id,
            work_item_id=item.id,
            author=actor.username,
            body=text,
            at=to_ms(rt.clock.now()),
            for_customer=for_customer,
        )
        session.add(comment)
        session.flush()
        return comment
