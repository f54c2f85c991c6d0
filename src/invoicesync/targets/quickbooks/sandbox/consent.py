"""The consent pages of Intuit's authorize endpoint: choose a company, approve or cancel."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from urllib.parse import urlencode

from invoicesync.targets.quickbooks.sandbox.oauth import OAuthError, OAuthServer
from invoicesync.targets.quickbooks.sandbox.wire import Response

_HTML = {"content-type": "text/html; charset=utf-8"}


def authorize(
    oauth: OAuthServer, companies: Mapping[str, str], params: dict[str, str], auto_approve: bool
) -> Response:
    """`GET /connect/oauth2`: the consent page, or the redirect when auto-approving.

    `companies` maps realm id to company name, first one preselected.
    """
    try:
        oauth.check_authorize(params)
    except OAuthError as exc:
        return Response(
            exc.status, f"<h1>Error</h1><p>{escape(exc.description)}</p>".encode(), _HTML
        )
    if auto_approve:
        return decide(
            oauth, companies, {**params, "realm_id": next(iter(companies)), "approve": "1"}
        )
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
        for k, v in params.items()
        if k in {"client_id", "redirect_uri", "state", "scope"}
    )
    choices = "".join(
        f'<label><input type="radio" name="realm_id" value="{escape(realm)}"'
        f"{' checked' if i == 0 else ''}> {escape(name)} ({escape(realm)})</label><br>"
        for i, (realm, name) in enumerate(companies.items())
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Connect to QuickBooks "
        "(local sandbox)</title></head><body><h1>invoicesync local sandbox</h1>"
        "<p>An app wants to connect to one of these sandbox companies:</p>"
        f"<form method='post' action='/connect/oauth2/decide'>{hidden}{choices}"
        "<button name='approve' value='1'>Connect</button> "
        "<button name='deny' value='1'>Cancel</button></form></body></html>"
    )
    return Response(200, page.encode(), dict(_HTML))


def decide(oauth: OAuthServer, companies: Mapping[str, str], form: dict[str, str]) -> Response:
    """The consent form's answer: redirect with a code, or with `error=access_denied`."""
    redirect = form.get("redirect_uri", "")
    params: dict[str, str] = {}
    if form.get("approve") and form.get("realm_id") in companies:
        params["code"] = oauth.issue_code(form.get("client_id", ""), form["realm_id"], redirect)
        params["state"] = form.get("state", "")
        params["realmId"] = form["realm_id"]
    else:
        params = {"error": "access_denied", "state": form.get("state", "")}
    sep = "&" if "?" in redirect else "?"
    return Response(302, b"", {"location": f"{redirect}{sep}{urlencode(params)}"})
