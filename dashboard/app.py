"""The dashboard's FastAPI application, built from a DashboardContext (no globals)."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from alerts.errors import AlertStoreError
from dashboard import (
    admin,
    api,
    board,
    family,
    family_notify,
    i18n,
    install,
    kpi_api,
    pages,
    provisioning_api,
    quarantine_api,
    report,
    shift,
)
from dashboard.context import DashboardContext
from dashboard.deps import get_lang
from dashboard.errors import LoginRequiredError, PageForbiddenError, PageNotFoundError
from dashboard.login import Authenticator
from dashboard.rows import make_templates
from dashboard.schemas import HealthOut
from dashboard.throttle import LoginThrottle

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"


def create_app(ctx: DashboardContext) -> FastAPI:
    """The web app: pages, the JSON API under /api/v1, /healthz and the static files."""
    app = FastAPI(
        title="Anxin",
        summary="Care-station console and API of Anxin (安心)",
        version="1",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.state.templates = make_templates()
    app.state.authenticator = Authenticator(LoginThrottle())
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(board.router)
    app.include_router(family.router)
    app.include_router(family_notify.router)
    app.include_router(provisioning_api.router)
    app.include_router(install.router)
    app.include_router(shift.router)
    app.include_router(report.router)
    app.include_router(admin.router)
    app.include_router(quarantine_api.router)
    app.include_router(kpi_api.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/healthz", tags=["ops"], responses={503: {"model": HealthOut}})
    async def healthz() -> Response:
        """200 when the platform behind the dashboard is ready (``degraded`` when a detector is
        not running), 503 otherwise."""
        if ctx.is_ready():
            problems = ctx.detector_problems() if ctx.detector_problems else []
            body = HealthOut(
                status="degraded" if problems else "ok",
                problems=[
                    {
                        "detector": p.name,
                        "since": p.since.isoformat(),
                        "error": p.error,
                        "homes": p.homes,
                    }
                    for p in problems
                ],
            )
            return JSONResponse(body.model_dump())
        return JSONResponse(
            HealthOut(status="starting").model_dump(),
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        )

    @app.exception_handler(AlertStoreError)
    async def store_unavailable(request: Request, exc: AlertStoreError) -> Response:
        log.error("alert_store_unavailable path=%s error=%s", request.url.path, exc)
        return JSONResponse(
            {"detail": "alert store unavailable"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        )

    @app.exception_handler(LoginRequiredError)
    async def to_login(request: Request, _exc: LoginRequiredError) -> Response:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        return RedirectResponse(f"/login?next={quote(target)}", status.HTTP_303_SEE_OTHER)

    @app.exception_handler(PageForbiddenError)
    async def forbidden_page(request: Request, _exc: PageForbiddenError) -> Response:
        lang = get_lang(request)
        return app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
            request,
            "message.html",
            pages.page_context(
                request,
                lang,
                title=i18n.translate(lang, "forbidden.title"),
                text=i18n.translate(lang, "forbidden.text"),
            ),
            status_code=status.HTTP_403_FORBIDDEN,
        )

    @app.exception_handler(PageNotFoundError)
    async def not_found_page(request: Request, exc: PageNotFoundError) -> Response:
        log.info("page_not_found path=%s reason=%s", request.url.path, exc)
        lang = get_lang(request)
        return app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
            request,
            "message.html",
            pages.page_context(
                request,
                lang,
                title=i18n.translate(lang, "notfound.title"),
                text=i18n.translate(lang, "notfound.text"),
            ),
            status_code=status.HTTP_404_NOT_FOUND,
        )

    return app
