"""Whether a browser request comes from pwapp's own pages (the CSRF check of cookie-setting routes)."""

from __future__ import annotations

from starlette.datastructures import Headers

from pwapp.settings import settings

# What Sec-Fetch-Site says for a navigation the user started (address bar, bookmark, mail app).
USER_STARTED = "none"


def is_same_origin(headers: Headers, *, allow_user_started: bool = False) -> bool:
    """True when the request came from a page of this site, by Sec-Fetch-Site or else Origin.

    Browsers that send neither header (old ones, non-browser clients) pass: they carry no
    victim's cookies across sites. `allow_user_started` also admits Sec-Fetch-Site: none.
    """
    site = headers.get("sec-fetch-site", "").strip().lower()
    if site:
        return site == "same-origin" or (allow_user_started and site == USER_STARTED)
    origin = headers.get("origin", "").strip()
    return not origin or origin in settings.allowed_origins
