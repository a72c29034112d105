"""Customers' documents on the staff's side: a link that needs them lists them, and its
viewers download them (the permission table checks the link; this view checks that the
document is the link's demand's and of a kind the link needs)."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, send_file
from sqlalchemy import select
from werkzeug.wrappers import Response

from gridflow.app.auth import runtime
from gridflow.app.portal import documents_folder
from gridflow.customers import documents
from gridflow.errors import NotFoundError
from gridflow.models import Definition, Instance, WorkItem

blueprint = Blueprint("documents", __name__)


def _link_of(item_id: int) -> tuple[int | None, str, str]:
    with runtime().db.snapshot() as connection:
        row = connection.execute(
            select(Instance.demand_id, Definition.process_id, WorkItem.element_id)
            .join(Instance, Instance.id == WorkItem.instance_id)
            .join(Definition, Definition.id == WorkItem.definition_id)
            .where(WorkItem.id == item_id)
        ).first()
    if row is None:
        raise NotFoundError(f"work item {item_id} does not exist")
    return row.demand_id, row.process_id, row.element_id


@blueprint.get("/work-items/<int:item_id>/documents/<int:document_id>")
def download(item_id: int, document_id: int) -> Response:
    demand_id, process_id, element_id = _link_of(item_id)
    try:
        path, shown = documents.path_for(
            runtime(), documents_folder(), document_id, demand_id, process_id, element_id
        )
    except NotFoundError:
        abort(404)
    if not path.is_file():
        abort(404)
    return send_file(
        path,
        mimetype=shown.content_type,
        as_attachment=True,
        download_name=f"{shown.kind}-{document_id}.{path.suffix.lstrip('.')}",
    )


def init_app(app: Flask) -> None:
    @app.template_global()
    def link_documents(item: WorkItem) -> list[documents.Shown]:
        demand_id, process_id, element_id = _link_of(item.id)
        return documents.for_link(runtime(), demand_id, process_id, element_id)

    @app.context_processor
    def document_names() -> dict[str, object]:
        return {"document_names": documents.KINDS}
