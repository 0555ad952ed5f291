"""The installer app: homes and residents, gateway registration with claim code and QR code,
the gateway coming online, pairing devices room by room, an end-to-end test alarm.

Installers never see health data: these pages show names, rooms, gateway status, signal and
battery only. Live parts poll ``/install/homes/{id}/live`` (JSON).
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dashboard import coverage, homes, i18n, provisioning_api
from dashboard.deps import (
    Ctx,
    InstallerForm,
    InstallerUser,
    InstallHome,
    PageCaller,
    PageZone,
    Session,
    Templates,
)
from dashboard.pages import page_context
from dashboard.rows import local_time
from devices.catalog import DEVICE_KINDS, ROOMS
from devices.payloads import CommandKind, CommandMessage, DeviceId
from registry.errors import RegistryError
from registry.models import Device
from registry.repository import DeviceSpec, add_device, create_home, create_resident

log = logging.getLogger(__name__)

TEST_ALARM_WINDOW = timedelta(minutes=10)  # a test alarm's answer is looked for this long
TEST_ALERT_KIND = "test_alarm"
DEVICE_KEY: TypeAdapter[str] = TypeAdapter(DeviceId)

router = APIRouter(include_in_schema=False)


def kind_label(kind: str, lang: str) -> str:
    """A device kind's name in ``lang``."""
    row = DEVICE_KINDS.get(kind)
    if row is None:
        return kind
    return row.label_zh if lang == "zh-CN" else row.label_en


@router.get("/install", response_class=HTMLResponse)
async def install_index(
    request: Request, caller: InstallerUser, session: Session, templates: Templates
) -> Response:
    """The homes an installer works in, and a form for a new home with its resident."""
    return templates.TemplateResponse(
        request,
        "install.html",
        page_context(
            request,
            caller.lang,
            user=caller.user,
            csrf=caller.csrf,
            homes=await homes.homes_for(session, caller.user),
            stations=await homes.stations_for(session, caller.user),
        ),
    )


@router.post("/install/homes")
async def new_home(
    caller: InstallerForm,
    session: Session,
    station_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    label: Annotated[str, Form(min_length=1, max_length=200)],
    resident_name: Annotated[str, Form(min_length=1, max_length=200)],
    address: Annotated[str, Form(max_length=400)] = "",
    birth_year: Annotated[int | None, Form(ge=1900, le=2100)] = None,
) -> Response:
    """Create a home and its resident in one of the installer's stations."""
    allowed = {s.id for s in await homes.stations_for(session, caller.user)}
    if station_id not in allowed:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such station")
    home = await create_home(session, station_id=station_id, label=label, address=address)
    await create_resident(session, home_id=home.id, name=resident_name, birth_year=birth_year)
    await session.commit()
    log.info("install.home_created home_id=%d by=%s", home.id, caller.user.username)
    return RedirectResponse(f"/install/homes/{home.id}", status.HTTP_303_SEE_OTHER)


async def _home_page(
    request: Request,
    session: AsyncSession,
    caller: PageCaller,
    home: homes.HomeSummary,
    ctx: Ctx,
    templates: Templates,
    claim: provisioning_api.ClaimCode | None = None,
    error: str = "",
    status_code: int = status.HTTP_200_OK,
) -> Response:
    states = homes.gateway_states(
        None if ctx.gateway_status is None else dict(ctx.gateway_status()), home.gateways
    )
    paired = (
        await session.execute(
            select(Device.kind, Device.room).where(Device.gateway_id.in_(home.gateways))
        )
    ).all()
    return templates.TemplateResponse(
        request,
        "install_home.html",
        page_context(
            request,
            caller.lang,
            user=caller.user,
            csrf=caller.csrf,
            home=home,
            states=states,
            claim=claim,
            error=error,
            kinds=[(k, kind_label(k, caller.lang)) for k in DEVICE_KINDS],
            rooms=ROOMS,
            gaps=[
                i18n.translate(caller.lang, key) for key in coverage.gaps((k, r) for k, r in paired)
            ],
            can_command=ctx.send_command is not None,
            provisioning=getattr(request.app.state, "provisioning", None) is not None,
        ),
        status_code=status_code,
    )


@router.get("/install/homes/{home_id}", response_class=HTMLResponse)
async def install_home(
    request: Request,
    caller: InstallerUser,
    home: InstallHome,
    ctx: Ctx,
    session: Session,
    templates: Templates,
) -> Response:
    """One home: gateways and their status, pairing by room, the test alarm."""
    return await _home_page(request, session, caller, home, ctx, templates)


@router.post("/install/homes/{home_id}/gateways", response_class=HTMLResponse)
async def register_gateway(
    request: Request,
    caller: InstallerForm,
    home: InstallHome,
    ctx: Ctx,
    session: Session,
    templates: Templates,
    gateway_id: Annotated[str, Form(min_length=1, max_length=64)],
) -> Response:
    """Register a gateway for this home through the provisioning API; show its claim code and QR."""
    settings = provisioning_api.get_settings(request)
    try:
        body = provisioning_api.NewGateway(gateway_id=gateway_id.strip(), home_id=home.id)
    except ValidationError:
        message = i18n.translate(caller.lang, "install.bad_gateway_id")
        return await _home_page(request, session, caller, home, ctx, templates, None, message, 422)
    try:
        claim = await provisioning_api.create_gateway(body, caller.user, session, ctx, settings)
    except HTTPException as err:
        if err.status_code != status.HTTP_409_CONFLICT:
            raise
        message = i18n.translate(caller.lang, "install.gateway_exists", gateway=body.gateway_id)
        return await _home_page(request, session, caller, home, ctx, templates, None, message, 409)
    fresh = (await homes.homes_for(session, caller.user, home.id))[0]
    return await _home_page(request, session, caller, fresh, ctx, templates, claim)


@router.get("/install/homes/{home_id}/live")
async def install_live(
    caller: InstallerUser, home: InstallHome, ctx: Ctx, session: Session, zone: PageZone
) -> JSONResponse:
    """Gateway states, each device's signal and battery, and test-alarm answers (no health data)."""
    now = ctx.clock.now()
    statuses = None if ctx.gateway_status is None else dict(ctx.gateway_status())
    devices = await homes.device_signals(session, ctx.store, home.gateways, now)
    tests: list[dict[str, Any]] = []
    residents = {resident_id for resident_id, _ in home.residents}
    if residents:
        for view in await ctx.alerts.list(resident_ids=residents, limit=50):
            if view.kind == TEST_ALERT_KIND and now - view.raised_at <= TEST_ALARM_WINDOW:
                tests.append(
                    {
                        "gateway": view.gateway_id,
                        "alert_id": view.id,
                        "raised": local_time(view.raised_at, zone),
                    }
                )
    return JSONResponse(
        {
            "gateways": homes.gateway_states(statuses, home.gateways),
            "devices": [
                {
                    "key": d.key,
                    "gateway": d.gateway_id,
                    "kind": d.kind,
                    "kind_label": kind_label(d.kind, caller.lang),
                    "room": d.room,
                    "room_label": i18n.label(caller.lang, "room", d.room) if d.room else "",
                    "signal": d.signal,
                    "battery": d.battery,
                    "seen": local_time(d.last_seen, zone),
                }
                for d in devices
            ],
            "tests": tests,
        }
    )


def _command(kind: CommandKind, now: datetime, args: dict[str, Any]) -> CommandMessage:
    return CommandMessage(id=f"cmd-{secrets.token_hex(8)}", kind=kind, args=args, t=now)


@router.post("/install/homes/{home_id}/devices")
async def pair_device(
    caller: InstallerForm,
    home: InstallHome,
    ctx: Ctx,
    session: Session,
    gateway_id: Annotated[str, Form(max_length=64)],
    kind: Annotated[str, Form(max_length=32)],
    room: Annotated[str, Form(max_length=32)] = "",
    key: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Pair a catalog device in a room with one of the home's gateways (and tell the gateway)."""
    if gateway_id not in home.gateways or kind not in DEVICE_KINDS or (room and room not in ROOMS):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "unknown gateway, kind or room")
    device_key = key.strip() or f"{gateway_id}-{kind}-{room or 'any'}"
    try:
        DEVICE_KEY.validate_python(device_key)
    except ValidationError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "bad device key") from err
    wearer = home.residents[0][0] if DEVICE_KINDS[kind].wearable and home.residents else None
    try:
        await add_device(session, gateway_id, DeviceSpec(device_key, kind, room, wearer))
    except RegistryError as err:
        raise HTTPException(status.HTTP_409_CONFLICT, "device already paired") from err
    await session.commit()
    log.info("install.device_paired gw=%s key=%s kind=%s", gateway_id, device_key, kind)
    if ctx.send_command is not None:
        now = ctx.clock.now()
        command = _command(
            CommandKind.PAIR_DEVICE, now, {"key": device_key, "kind": kind, "room": room}
        )
        await ctx.send_command(gateway_id, command)
    return RedirectResponse(f"/install/homes/{home.id}#devices", status.HTTP_303_SEE_OTHER)


@router.post("/install/homes/{home_id}/test-alarm")
async def test_alarm(
    caller: InstallerForm,
    home: InstallHome,
    ctx: Ctx,
    gateway_id: Annotated[str, Form(max_length=64)],
) -> Response:
    """Ask the gateway for an end-to-end test alarm (it answers with a test_alarm event)."""
    if gateway_id not in home.gateways:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "not a gateway of this home")
    if ctx.send_command is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "commands are not connected")
    command = _command(CommandKind.TEST_ALARM, ctx.clock.now(), {"by": caller.user.username})
    await ctx.send_command(gateway_id, command)
    log.info("install.test_alarm_sent gw=%s id=%s", gateway_id, command.id)
    return RedirectResponse(
        f"/install/homes/{home.id}?test={command.id}#test", status.HTTP_303_SEE_OTHER
    )
