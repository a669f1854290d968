"""The municipality app's pages: one shell per page, the data comes from the API."""

from __future__ import annotations


from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from municipality_app import HERE, PREFIX
from municipality_app.texts import TEXTS
from web_common import render_shell, templates_for

router = APIRouter(include_in_schema=False)
templates = templates_for(HERE / "templates")

# name -> (path, template); the order is the order of the navigation.
PAGES: dict[str, tuple[str, str]] = {
    "overview": ("/", "overview.html"),
    "dashboard": ("/dashboard", "dashboard.html"),
    "merchants": ("/merchants", "merchants.html"),
    "users": ("/users", "users.html"),
    "cards": ("/cards", "cards.html"),
    "settlement": ("/settlement", "settlement.html"),
    "reconciliation": ("/reconciliation", "reconciliation.html"),
    "rules": ("/rules", "rules.html"),
    "campaigns": ("/campaigns", "campaigns.html"),
    "audit": ("/audit", "audit.html"),
    "login": ("/login", "login.html"),
    "apply": ("/apply", "apply.html"),
}
# Pages anybody may open: signing in, and the form a shop fills in to take part.
PUBLIC = {"login", "apply"}


def _render(request: Request, page: str) -> HTMLResponse:
    return render_shell(
        templates,
        request,
        template=PAGES[page][1],
        app_texts=TEXTS,
        context={
            "page": page,
            "prefix": PREFIX,
            "public": page in PUBLIC,
            "nav": [(name, PREFIX + path) for name, (path, _) in PAGES.items() if name not in PUBLIC],
        },
    )


def _page(name: str):
    async def show(request: Request) -> HTMLResponse:
        return _render(request, name)

    show.__name__ = f"page_{name}"
    return show


for _name, (_path, _template) in PAGES.items():
    router.add_api_route(_path, _page(_name), methods=["GET"], response_class=HTMLResponse)
