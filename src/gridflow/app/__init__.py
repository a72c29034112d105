"""The Flask application factory: one blueprint per audience (staff pages, JSON API, sign-in,
administrators), behind one permission table (`permissions`) and the security headers."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from gridflow.runtime import Runtime

WEB = Path(os.environ.get("GRIDFLOW_WEB", Path(__file__).resolve().parents[3] / "web"))
csrf = CSRFProtect()


def create_app(config: Mapping[str, Any] | None = None, runtime: Runtime | None = None) -> Flask:
    """An application on the configured database (GRIDFLOW_DATABASE_URL) or on `runtime`."""
    app = Flask(
        __name__,
        template_folder=str(WEB / "templates"),
        static_folder=str(WEB / "static"),
        instance_relative_config=True,
    )
    app.config.update(
        SECRET_KEY=os.environ.get("GRIDFLOW_SECRET_KEY") or _instance_secret(app),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        GRIDFLOW_DEMO=os.environ.get("GRIDFLOW_DEMO") == "1",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).resolve().parent.parent / "translations"),
        JSON_SORT_KEYS=False,
        # No request needs more (BPMN uploads are refused above 5 MiB): bigger bodies get 413
        # before anything, the CSRF check included, reads them.
        MAX_CONTENT_LENGTH=8 * 1024 * 1024,
    )
    from gridflow import logs
    from gridflow.app import settings

    logs.configure()
    app.config.update(settings.from_environment())
    if config:
        app.config.update(config)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        # https and the client's address as the trusted proxies in front say (and no further).
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
    app.extensions["gridflow"] = runtime or Runtime.create(app.config.get("DATABASE_URL"))

    from gridflow.app import (
        admin,
        api,
        audit_pages,
        auth,
        content,
        decision_designer,
        designer,
        field,
        headers,
        i18n,
        incident_pages,
        manpower,
        operations,
        pages,
        permissions,
        service_pages,
        vendor,
    )

    headers.init_app(app)  # before the blueprints: their `<int:…>` routes use its converter
    operations.init_app(app)  # the request id is bound before any other hook runs
    csrf.init_app(app)
    i18n.init_app(app)
    content.init_app(app)
    auth.init_app(app)
    permissions.init_app(app)
    app.register_blueprint(auth.blueprint)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(manpower.blueprint)
    app.register_blueprint(field.blueprint)
    from gridflow.app import external_api, linkage_api  # noqa: F401 - add routes to the API

    app.register_blueprint(api.blueprint)
    app.register_blueprint(vendor.blueprint)
    app.register_blueprint(designer.blueprint)
    app.register_blueprint(decision_designer.blueprint)
    app.register_blueprint(audit_pages.blueprint)
    app.register_blueprint(incident_pages.blueprint)
    app.register_blueprint(admin.blueprint)
    app.register_blueprint(service_pages.blueprint)
    csrf.exempt(api.blueprint)
    pages.register_filters(app)
    service_pages.register_globals(app)
    return app


def _instance_secret(app: Flask) -> str:
    """A secret kept in the instance folder, so sessions survive a restart."""
    path = Path(app.instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    path.write_text(secret)
    path.chmod(0o600)
    return secret
