"""The dashboard's exception family."""

from __future__ import annotations


class DashboardError(Exception):
    """Root of every error the dashboard raises."""


class TokenError(DashboardError):
    """A token or cookie is malformed, forged, of the wrong purpose, or expired."""


class LoginLockedError(DashboardError):
    """Too many failed logins for this username and address; try again later."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"login locked for {retry_after_s} s")
        self.retry_after_s = retry_after_s


class LoginRequiredError(DashboardError):
    """A page needs a signed-in user; the app answers with a redirect to /login."""


class PageForbiddenError(DashboardError):
    """A signed-in user opened a page their role may not see."""


class PageNotFoundError(DashboardError):
    """A page about an object that does not exist or that the caller may not see (a 404 page)."""
