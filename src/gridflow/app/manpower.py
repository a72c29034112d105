"""Supervisor and staff pages for manpower reuse: keep the skill pool (profiles, skills,
shifts, leave, equipment) and see who is loaded, free or on shift; "find help" on a link with
hand-over and helpers; the dispatch rounds with their plans and reasons."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from gridflow import dispatch, pool, team, work_items
from gridflow.app import wording
from gridflow.app.auth import load_staff, runtime
from gridflow.app.pages import item_words
from gridflow.errors import ConflictError, ForbiddenError, InvalidStateError, NotFoundError
from gridflow.models import StaffLeave, StaffProfile, StaffShift, WorkItem

# `gettext` only marks a refusal for the catalogue; the page translates it (texts.refusal).
from gridflow.texts import _ as gettext
from gridflow.users import Staff

blueprint = Blueprint("manpower", __name__)
SUPERVISING = ("supervisor", "admin")
WEEKDAYS = (0, 1, 2, 3, 4, 5, 6)


def staff() -> Staff:
    current = load_staff()
    assert current is not None
    return current


@blueprint.get("/pool")
def pool_page() -> str:
    rt = runtime()
    now = rt.clock.now()
    offset = pool.local_offset(rt)
    with rt.db.snapshot() as connection:
        people = pool.load_people(connection)
        kit = pool.equipment(connection)
        shift_ids = {
            (row.username, row.weekday, row.start_minute): row.id
            for row in connection.execute(
                select(
                    StaffProfile.username,
                    StaffShift.weekday,
                    StaffShift.start_minute,
                    StaffShift.id,
                ).join(StaffProfile, StaffProfile.id == StaffShift.profile_id)
            )
        }
        leave = connection.execute(
            select(
                StaffProfile.username,
                StaffLeave.id,
                StaffLeave.starts_at,
                StaffLeave.ends_at,
                StaffLeave.reason,
            )
            .join(StaffProfile, StaffProfile.id == StaffLeave.profile_id)
            .where(StaffLeave.ends_at > now)
            .order_by(StaffLeave.starts_at)
        ).all()
    rows = [
        {
            "person": p,
            "status": p.status(now),
            "left": p.shift_left(now),
            "shifts": [
                (_shift_text(window), shift_ids.get((p.username, weekday, start)))
                for window, (weekday, start, _minutes) in zip(
                    pool.local_windows(p.shifts, offset), p.shifts, strict=True
                )
            ],
        }
        for p in people
    ]
    counts = {status: sum(1 for r in rows if r["status"] == status) for status in STATUSES}
    departments = sorted({r.department.id for r in rt.roles.roles.values() if r.owns_lanes})
    return render_template(
        "pool.html",
        rows=rows,
        counts=counts,
        equipment=kit,
        leave=leave,
        areas=pool.AREAS,
        departments=departments,
        weekdays=WEEKDAYS,
    )


def _shift_text(window: tuple[int, str, str]) -> str:
    """A weekly shift in the page's language: 'Monday 08:30–17:30' / '星期一 08:30–17:30'."""
    weekday, start, end = window
    return f"{wording.code_name('weekday', weekday)} {start}–{end}"


@blueprint.get("/team")
def team_overview() -> str:
    """The supervisors' landing: load per person, overdue links, escalations waiting."""
    rt = runtime()
    return render_template("team.html", view=team.overview(rt), now=rt.clock.now())


STATUSES = ("free", "loaded", "full", "off_shift", "on_leave")


def _back() -> Response:
    return redirect(url_for("manpower.pool_page"))


@blueprint.post("/pool/profile")
def save_profile() -> Response:
    form = request.form
    try:
        pool.save_profile(
            runtime(),
            form.get("username", ""),
            department=form.get("department", ""),
            area=form.get("area", ""),
            max_load=_int(form.get("max_load")),
            skills=form.get("skills", ""),
        )
        flash(_("Profile saved."), "success")
    except pool.PoolError as exc:
        flash(wording.refusal(exc), "danger")
    return _back()


@blueprint.post("/pool/shift")
def add_shift() -> Response:
    form = request.form
    try:
        pool.add_shift(
            runtime(),
            form.get("username", ""),
            _int(form.get("weekday")),
            form.get("start", ""),
            form.get("end", ""),
            offset_minutes=pool.local_offset(runtime()),
        )
        flash(_("Shift added."), "success")
    except (pool.PoolError, NotFoundError) as exc:
        flash(wording.refusal(exc), "danger")
    return _back()


@blueprint.post("/pool/shift/<int:shift_id>/delete")
def remove_shift(shift_id: int) -> Response:
    pool.remove_shift(runtime(), shift_id)
    flash(_("Shift removed."), "info")
    return _back()


@blueprint.post("/pool/leave")
def add_leave() -> Response:
    form = request.form
    rt = runtime()
    try:
        starts = _local_time(form.get("starts", ""))
        ends = _local_time(form.get("ends", ""))
        pool.add_leave(rt, form.get("username", ""), starts, ends, form.get("reason", ""))
        flash(_("Leave recorded."), "success")
    except (pool.PoolError, NotFoundError) as exc:
        flash(wording.refusal(exc), "danger")
    return _back()


@blueprint.post("/pool/leave/<int:leave_id>/delete")
def remove_leave(leave_id: int) -> Response:
    pool.remove_leave(runtime(), leave_id)
    flash(_("Leave removed."), "info")
    return _back()


@blueprint.post("/pool/equipment")
def save_equipment() -> Response:
    form = request.form
    try:
        pool.save_equipment(
            runtime(),
            form.get("code", ""),
            form.get("type", ""),
            form.get("area", ""),
            available=form.get("available") == "1",
        )
        flash(_("Equipment saved."), "success")
    except pool.PoolError as exc:
        flash(wording.refusal(exc), "danger")
    return _back()


def _int(raw: str | None) -> int:
    try:
        return int(raw or "")
    except ValueError:
        return -1


def _local_time(raw: str) -> datetime:
    """A datetime-local field (the calendar's time zone) as an aware instant."""
    try:
        naive = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise pool.PoolError(
            gettext("time %(time)s must be a date and time"), time=repr(raw)
        ) from exc
    zone = runtime().calendar.to_local(datetime.now(UTC)).tzinfo
    return naive.replace(tzinfo=zone).astimezone(UTC)


# --- find help on a link ------------------------------------------------------------------------


def _item(item_id: int) -> WorkItem:
    with runtime().db.read() as session:
        item = session.get(WorkItem, item_id)
    if item is None:
        abort(404)
    return item


@blueprint.get("/work-items/<int:item_id>/help")
def find_help(item_id: int) -> str:
    """Who could take or help with a link: the available people, best first; `?show=all`
    also lists those who cannot now (off shift, on leave, at maximum load), with why."""
    item = _item(item_id)
    ranked = pool.candidates(runtime(), item)
    show_all = request.args.get("show") == "all"
    shown = ranked if show_all else [fit for fit in ranked if fit.feasible]
    return render_template(
        "help.html",
        item=item,
        ranked=shown,
        show_all=show_all,
        hidden=len(ranked) - len(shown),
        now=runtime().clock.now(),
    )


@blueprint.post("/work-items/<int:item_id>/hand-over")
def hand_over(item_id: int) -> Response:
    item = _item(item_id)
    to = request.form.get("username", "")
    try:
        work_items.hand_over(
            runtime(),
            item_id,
            staff().actor,
            to,
            reason=request.form.get("reason", ""),
            expected_version=_int(request.form.get("version")),
        )
        flash(_("“%(link)s” handed over to %(who)s.", link=item.link_name, who=to), "success")
        return redirect(url_for("pages.queue", scope="mine"))
    except (ConflictError, ForbiddenError, InvalidStateError, NotFoundError) as exc:
        flash(wording.refusal(exc, **item_words(item)), "danger")
    return redirect(url_for("manpower.find_help", item_id=item_id))


@blueprint.post("/work-items/<int:item_id>/helpers")
def add_helper(item_id: int) -> Response:
    item = _item(item_id)
    helper = request.form.get("username", "")
    try:
        work_items.add_helper(
            runtime(), item_id, staff().actor, helper, reason=request.form.get("reason", "")
        )
        flash(_("%(who)s now helps on “%(link)s”.", who=helper, link=item.link_name), "success")
    except (ConflictError, ForbiddenError, InvalidStateError, NotFoundError) as exc:
        flash(wording.refusal(exc, **item_words(item)), "danger")
    return redirect(url_for("pages.work_item", item_id=item_id))


# --- dispatch -----------------------------------------------------------------------------------


@blueprint.get("/dispatch")
def dispatch_page() -> str:
    return render_template("dispatch.html", rounds=dispatch.recent_rounds(runtime()))


@blueprint.post("/dispatch/run")
def run_round() -> Response:
    done = dispatch.run_round(runtime())
    flash(_("Dispatch round: %(n)d link(s) assigned.", n=len(done.assignments)), "success")
    return redirect(url_for("manpower.dispatch_page"))
