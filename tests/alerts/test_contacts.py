"""Who is told: a person's contacts follow their account and their family links."""

from __future__ import annotations

from alerts.contacts import ContactSpec, add_contact, recipients
from registry.models import Role
from registry.people import create_user, link_family, set_active, unlink_family
from tests.alerts.conftest import Home

AUDIENCES = ("staff", "family")


async def _told(home: Home) -> list[str]:
    async with home.sessions() as session:
        found = await recipients(session, home.station_id, home.wearer_id, AUDIENCES)
        return [contact.name for contact in found]


async def test_deactivated_users_and_removed_links_are_no_longer_told(home: Home) -> None:
    async with home.sessions() as session, session.begin():
        son = await create_user(
            session, username="son", password="correct horse battery", role=Role.FAMILY
        )
        await link_family(session, user_id=son.id, resident_id=home.wearer_id)
        son_id = son.id
        contacts = [
            ContactSpec(
                "staff", ("mailto://duty@example.org",), name="duty", user_id=home.staff_id
            ),
            ContactSpec(
                "family",
                ("mailto://son@example.org",),
                name="son",
                resident_id=home.wearer_id,
                user_id=son_id,
            ),
            ContactSpec(  # a relative without an account: kept as configured
                "family", ("mailto://niece@example.org",), name="niece", resident_id=home.wearer_id
            ),
        ]
        for spec in contacts:
            await add_contact(session, home.station_id, spec)
    assert await _told(home) == ["duty", "son", "niece"]

    async with home.sessions() as session, session.begin():
        await unlink_family(session, user_id=son_id, resident_id=home.wearer_id)
        await set_active(session, user_id=home.staff_id, active=False, actor_id=son_id)
    assert await _told(home) == ["niece"]

    async with home.sessions() as session, session.begin():
        await set_active(session, user_id=home.staff_id, active=True, actor_id=son_id)
        await link_family(session, user_id=son_id, resident_id=home.wearer_id)
    assert await _told(home) == ["duty", "son", "niece"]
