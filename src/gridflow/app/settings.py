"""Security settings from the environment: token and session lifetimes, Secure cookies, and the
proxies in front of the application (for https and the client's address).

    GRIDFLOW_TOKEN_LIFETIME    bearer tokens expire after this (default 8h, a working day)
    GRIDFLOW_SESSION_IDLE      a signed-in browser left alone this long signs out (default 2h)
    GRIDFLOW_SESSION_LIFETIME  and in any case this long after signing in (default 12h)
    GRIDFLOW_SECURE_COOKIES    1: cookies only over https (also automatic for https requests)
    GRIDFLOW_TRUSTED_PROXIES   how many proxies in front set X-Forwarded-For/-Proto/-Host
                               (default 0: the headers are ignored, as anyone could send them)
    GRIDFLOW_METRICS_TOKEN     a bearer token Prometheus sends to read /metrics (default: none;
                               administrators' own tokens work too); at least 16 characters
    GRIDFLOW_MAP_URL           where a field crew's address link goes: a URL with {address}
                               (default geo:0,0?q={address}, which a phone opens in its own map
                               app; e.g. https://uri.amap.com/search?keyword={address})

Durations are written like 8h, 30m, 1h30m, 1d or 90s.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from gridflow import sessions, tokens
from gridflow.errors import ConfigurationError

_PART = re.compile(r"(\d+)([dhms])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(text: str, name: str) -> timedelta:
    compact = text.strip().lower().replace(" ", "")
    if not compact or _PART.sub("", compact):
        raise ConfigurationError(f"{name}={text!r}: write a duration such as 8h, 30m or 1h30m")
    total = timedelta()
    for number, unit in _PART.findall(compact):
        total += timedelta(**{_UNITS[unit]: int(number)})
    if total <= timedelta(0) or total > timedelta(days=366):
        raise ConfigurationError(f"{name}={text!r}: must be more than 0 and at most a year")
    return total


def _duration(environ: Mapping[str, str], name: str, default: timedelta) -> timedelta:
    raw = environ.get(name)
    return parse_duration(raw, name) if raw else default


DEFAULT_MAP_URL = "geo:0,0?q={address}"
MAP_SCHEMES = ("geo:", "https://", "http://")


def map_url_template(text: str, name: str = "GRIDFLOW_MAP_URL") -> str:
    """A map link template: geo:, https:// or http://, with one {address} and no other braces."""
    template = text.strip()
    if not template.lower().startswith(MAP_SCHEMES) or template.count("{address}") != 1:
        raise ConfigurationError(
            f"{name}={text!r}: a geo:, https:// or http:// URL with {{address}} once"
        )
    if "{" in template.replace("{address}", "") or "}" in template.replace("{address}", ""):
        raise ConfigurationError(f"{name}={text!r}: no braces but {{address}}")
    return template


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The app config keys these settings become."""
    env = os.environ if environ is None else environ
    proxies = env.get("GRIDFLOW_TRUSTED_PROXIES", "0").strip() or "0"
    if not proxies.isdigit() or int(proxies) > 10:
        raise ConfigurationError(f"GRIDFLOW_TRUSTED_PROXIES={proxies!r}: a number from 0 to 10")
    metrics_token = env.get("GRIDFLOW_METRICS_TOKEN", "").strip() or None
    if metrics_token is not None and len(metrics_token) < 16:
        raise ConfigurationError("GRIDFLOW_METRICS_TOKEN: at least 16 characters")
    idle = _duration(env, "GRIDFLOW_SESSION_IDLE", sessions.DEFAULT_IDLE)
    absolute = _duration(env, "GRIDFLOW_SESSION_LIFETIME", sessions.DEFAULT_LIFETIME)
    return {
        "TOKEN_LIFETIME": _duration(env, "GRIDFLOW_TOKEN_LIFETIME", tokens.DEFAULT_LIFETIME),
        "SESSION_LIFETIMES": sessions.Lifetimes(idle=idle, absolute=absolute),
        # The browser forgets the cookie when the server would refuse it anyway.
        "PERMANENT_SESSION_LIFETIME": absolute,
        "SESSION_COOKIE_SECURE": env.get("GRIDFLOW_SECURE_COOKIES", "").lower()
        in ("1", "true", "yes"),
        "TRUSTED_PROXIES": int(proxies),
        "METRICS_TOKEN": metrics_token,
        "MAP_URL": map_url_template(env.get("GRIDFLOW_MAP_URL") or DEFAULT_MAP_URL),
    }
