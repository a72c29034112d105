"""Consultations (forward support): the open questions put to one's roles, and answering them."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from gridflow import consultations
from gridflow.app import wording
from gridflow.app.auth import runtime
from gridflow.app.pages.base import blueprint, staff
from gridflow.app.pages.links import _role_words
from gridflow.errors import ConflictError, ForbiddenError, NotFoundError
from gridflow.models import Consultation


@blueprint.get("/consultations")
def consultation_list() -> str:
    questions = consultations.open_for(runtime(), staff().actor)
    return render_template(
        "consultations.html",
        questions=questions,
        subjects=consultations.subjects(runtime(), staff().actor, questions),
    )


@blueprint.post("/consultations/<int:consultation_id>/answer")
def answer(consultation_id: int) -> Response:
    try:
        consultations.answer(
            runtime(), consultation_id, staff().actor, request.form.get("answer", "")
        )
        flash(_("Answer sent."), "success")
    except ForbiddenError as exc:
        with runtime().db.read() as session:
            asked = session.get(Consultation, consultation_id)
        flash(wording.refusal(exc, **_role_words(asked.role if asked else "")), "danger")
    except (consultations.ConsultationError, ConflictError, NotFoundError) as exc:
        flash(wording.refusal(exc), "danger")
    return redirect(url_for("pages.consultation_list"))
