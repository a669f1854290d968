"""The root page: what Kernpunt is, where to go, and (in dev) how to sign in."""

from __future__ import annotations

import html

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from backend.demo.logins import DEMO_LOGINS

router = APIRouter(include_in_schema=False)

TEXT = {
    "nl": {
        "lang": "nl-BE",
        "title": "Kernpunt — lokaal sparen",
        "intro": "Spaar punten bij elke aankoop in een winkel van de gemeente en besteed ze in elke deelnemende zaak.",
        "shopper": "Spaarapp voor klanten",
        "cashier": "Kassa-app voor handelaars",
        "municipality": "Gemeente: beheer en cijfers",
        "api": "API-documentatie",
        "logins": "Demo-aanmeldingen",
        "role": "Rol",
        "email": "E-mail",
        "password": "Wachtwoord",
        "languages": "Taal",
    },
    "fr": {
        "lang": "fr-BE",
        "title": "Kernpunt — épargner local",
        "intro": "Gagnez des points à chaque achat dans un commerce de la commune et dépensez-les dans tout commerce participant.",
        "shopper": "Application d'épargne pour les clients",
        "cashier": "Application caisse pour les commerçants",
        "municipality": "Commune : gestion et chiffres",
        "api": "Documentation de l'API",
        "logins": "Connexions de démonstration",
        "role": "Rôle",
        "email": "E-mail",
        "password": "Mot de passe",
        "languages": "Langue",
    },
    "en": {
        "lang": "en",
        "title": "Kernpunt — save locally",
        "intro": "Save points with every purchase in a local shop and spend them in any participating shop in town.",
        "shopper": "Savings app for shoppers",
        "cashier": "Till app for merchants",
        "municipality": "Municipality: administration and figures",
        "api": "API documentation",
        "logins": "Demo sign-ins",
        "role": "Role",
        "email": "E-mail",
        "password": "Password",
        "languages": "Language",
    },
}

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9;line-height:1.5}
main{max-width:44rem;margin:0 auto;padding:1.5rem 1rem}
h1{font-size:1.8rem;margin:.5rem 0;color:#0b4f3c}
nav.lang{text-align:right}
nav.lang a{margin-left:.75rem}
a{color:#0b5cad}
a:focus{outline:3px solid #f0a500;outline-offset:2px}
ul.links{list-style:none;padding:0;display:grid;gap:.75rem}
ul.links a{display:block;padding:1rem;border-radius:.6rem;background:#fff;border:1px solid #cfd6de;text-decoration:none;font-size:1.1rem;color:#0b4f3c;font-weight:600}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.95rem}
th,td{border:1px solid #cfd6de;padding:.4rem .5rem;text-align:left;word-break:break-all}
th{background:#e8eef3}
"""


def _language(request: Request, lang: str | None) -> str:
    if lang in TEXT:
        return lang  # type: ignore[return-value]
    accept = request.headers.get("accept-language", "").lower()
    for part in accept.split(","):
        code = part.split(";")[0].strip()[:2]
        if code in TEXT:
            return code
    return "nl"


@router.get("/", response_class=HTMLResponse)
async def welcome(request: Request, lang: str | None = Query(None, pattern="^(nl|fr|en)$")) -> HTMLResponse:
    language = _language(request, lang)
    t = TEXT[language]
    e = html.escape
    settings = request.app.state.settings
    logins = ""
    if settings.env == "dev":
        rows = "".join(
            f"<tr><td>{e(getattr(login, 'label_' + language))}</td><td>{e(login.email)}</td>"
            f"<td><code>{e(login.password)}</code></td></tr>"
            for login in DEMO_LOGINS
        )
        logins = (
            f"<section aria-labelledby='logins'><h2 id='logins'>{e(t['logins'])}</h2>"
            f"<table><thead><tr><th scope='col'>{e(t['role'])}</th><th scope='col'>{e(t['email'])}</th>"
            f"<th scope='col'>{e(t['password'])}</th></tr></thead><tbody>{rows}</tbody></table></section>"
        )
    switch = "".join(
        f"<a href='/?lang={code}' hreflang='{code}' lang='{code}'"
        + (" aria-current='true'" if code == language else "")
        + f">{name}</a>"
        for code, name in (("nl", "Nederlands"), ("fr", "Français"), ("en", "English"))
    )
    page = f"""<!doctype html>
<html lang="{t['lang']}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(t['title'])}</title><style>{STYLE}</style></head>
<body><main>
<nav class="lang" aria-label="{e(t['languages'])}">{switch}</nav>
<h1>{e(t['title'])}</h1>
<p>{e(t['intro'])}</p>
<ul class="links">
<li><a href="/app">{e(t['shopper'])}</a></li>
<li><a href="/merchant">{e(t['cashier'])}</a></li>
<li><a href="/municipality">{e(t['municipality'])}</a></li>
<li><a href="/docs">{e(t['api'])}</a></li>
</ul>
{logins}
</main></body></html>"""
    return HTMLResponse(page, headers={"Content-Language": t["lang"]})
