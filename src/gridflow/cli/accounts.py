"""Accounts: the roles, staff and integration accounts (add, list, grant, revoke, disable,
enable) and API bearer tokens (list, revoke)."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from gridflow.cli.base import _runtime, database_option, main
from gridflow.errors import NotFoundError
from gridflow.runtime import Runtime, load_roles, processes_dir


@main.command()
def roles() -> None:
    """List role ids (from the roles file) with their department and side."""
    book = load_roles()
    for role in book.roles.values():
        click.echo(f"{role.id:<18} {role.side:<11} {role.department.id:<20} {role.name}")


@main.group()
def user() -> None:
    """Staff accounts."""


@user.command("add")
@click.argument("name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", "role_ids", multiple=True, required=True, help="Role id (repeatable).")
@click.option("--display-name", default="", help="Name shown on pages.")
@click.option("--display-name-zh", default="", help="Name shown on Chinese pages.")
@click.option(
    "--grant",
    "grants",
    multiple=True,
    help="For integration accounts: event:<type> or topic:<topic> (repeatable).",
)
@database_option
def user_add(
    name: str,
    password: str,
    role_ids: tuple[str, ...],
    display_name: str,
    display_name_zh: str,
    grants: tuple[str, ...],
    database: str | None,
) -> None:
    """Create a user: gridflow user add NAME --password P --role ROLE [--role ROLE…]
    [--grant event:TYPE --grant topic:TOPIC …]."""
    from gridflow.users import UserError, create_user

    rt = _runtime(database)
    try:
        _check_event_grants(rt, grants)
        staff = create_user(
            rt,
            name,
            password,
            role_ids,
            display_name=display_name,
            display_name_zh=display_name_zh,
            grants=grants,
        )
    except UserError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    granted = f"; grants {', '.join(sorted(staff.grants))}" if staff.grants else ""
    click.echo(f"created {staff.username} with roles {', '.join(sorted(staff.roles))}{granted}")


def _check_event_grants(rt: Runtime, grants: tuple[str, ...]) -> None:
    """An event grant must name an event type of the linkage rules (a typo grants nothing)."""
    from gridflow import linkage, rules
    from gridflow.users import UserError

    events = [g.split(":", 1)[1] for g in grants if g.startswith("event:")]
    if not events or not (processes_dir() / rules.RULES_FILE).exists():
        return
    book = linkage.rulebook(rt.roles)
    unknown = [e for e in events if e not in book.events or book.events[e].internal]
    if unknown:
        known = ", ".join(sorted(n for n, e in book.events.items() if not e.internal))
        raise UserError(f"no event type {', '.join(unknown)} to post; known: {known}")


@user.command("list")
@database_option
def user_list(database: str | None) -> None:
    """List users, their roles and grants; disabled accounts are marked."""
    from gridflow.models import User
    from gridflow.users import list_users

    rt = _runtime(database)
    with rt.db.read() as session:
        active = dict(session.execute(select(User.username, User.active)).all())
    for staff in list_users(rt):
        grants = f"  [{', '.join(sorted(staff.grants))}]" if staff.grants else ""
        off = "  (disabled)" if not active.get(staff.username, True) else ""
        click.echo(f"{staff.username:<20} {', '.join(sorted(staff.roles))}{grants}{off}")


@user.command("grant")
@click.argument("name")
@click.argument("grants", nargs=-1, required=True)
@database_option
def user_grant(name: str, grants: tuple[str, ...], database: str | None) -> None:
    """Let an integration account post an event type or serve a topic:
    gridflow user grant NAME event:outage_alarm topic:meter_order."""
    from gridflow.users import UserError, change_grants

    rt = _runtime(database)
    try:
        _check_event_grants(rt, grants)
        staff = change_grants(rt, name, add=grants)
    except (UserError, NotFoundError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"{staff.username}: {', '.join(sorted(staff.grants)) or 'no grants'}")


@user.command("revoke")
@click.argument("name")
@click.argument("grants", nargs=-1, required=True)
@database_option
def user_revoke(name: str, grants: tuple[str, ...], database: str | None) -> None:
    """Take grants away from an integration account (effective on its next request)."""
    from gridflow.users import UserError, change_grants

    try:
        staff = change_grants(_runtime(database), name, remove=grants)
    except (UserError, NotFoundError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"{staff.username}: {', '.join(sorted(staff.grants)) or 'no grants'}")


@user.command("disable")
@click.argument("name")
@database_option
def user_disable(name: str, database: str | None) -> None:
    """Disable an account: it cannot sign in, and its sessions and tokens end at once."""
    from gridflow.users import disable

    try:
        ended = disable(_runtime(database), name)
    except NotFoundError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"disabled {name}; ended {ended} session(s) and token(s)")


@user.command("enable")
@click.argument("name")
@database_option
def user_enable(name: str, database: str | None) -> None:
    """Let a disabled account sign in again (its old sessions and tokens stay ended)."""
    from gridflow.users import enable

    try:
        enable(_runtime(database), name)
    except NotFoundError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"enabled {name}")


@main.group()
def token() -> None:
    """API bearer tokens (made with POST /api/tokens; shown only then)."""


@token.command("list")
@click.option("--user", "username", default=None, help="Only this account's tokens.")
@database_option
def token_list(username: str | None, database: str | None) -> None:
    """Tokens with their account, times and state (never the token itself)."""
    from gridflow import tokens

    rt = _runtime(database)
    now = rt.clock.now()
    for info in tokens.listed(rt, username):
        state = (
            "revoked"
            if info.revoked
            else "expired"
            if info.expires_at <= now
            else f"valid until {info.expires_at:%Y-%m-%d %H:%M} UTC"
        )
        used = f", last used {info.last_used_at:%Y-%m-%d %H:%M} UTC" if info.last_used_at else ""
        click.echo(
            f"{info.id:>6} {info.username:<20} made {info.created_at:%Y-%m-%d %H:%M} UTC, "
            f"{state}{used}"
        )


@token.command("revoke")
@click.option("--user", "username", default=None, help="Revoke every token of this account.")
@click.option("--id", "token_id", type=int, default=None, help="Revoke this token (see list).")
@database_option
def token_revoke(username: str | None, token_id: int | None, database: str | None) -> None:
    """Revoke tokens: they stop working at once, on every app process."""
    from gridflow import tokens

    if (username is None) == (token_id is None):
        raise click.UsageError("give --user NAME or --id N")
    rt = _runtime(database)
    try:
        if username is not None:
            click.echo(f"revoked {tokens.revoke_all(rt, username)} token(s) of {username}")
        else:
            assert token_id is not None
            tokens.revoke_id(rt, token_id)
            click.echo(f"revoked token {token_id}")
    except NotFoundError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
