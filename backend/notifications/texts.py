"""The words of every e-mail we send, per language (nl default, fr, en).

Kept together in one small module so a translator reviews one file. Templates use
``str.format`` placeholders; every language must use the same ones (a test checks).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_LANGUAGE = "nl"
LANGUAGES = ("nl", "fr", "en")


@dataclass(frozen=True, slots=True)
class MailText:
    subject: str
    body: str


TEXTS: dict[str, dict[str, MailText]] = {
    "verify_email": {
        "nl": MailText(
            subject="Bevestig je e-mailadres voor {scheme}",
            body=(
                "Hallo {first_name},\n\n"
                "Welkom bij {scheme}! Bevestig je e-mailadres met deze link:\n\n"
                "{link}\n\n"
                "De link blijft {valid_days} dagen geldig. Heb je geen account aangemaakt? "
                "Dan mag je deze e-mail negeren.\n"
            ),
        ),
        "fr": MailText(
            subject="Confirmez votre adresse e-mail pour {scheme}",
            body=(
                "Bonjour {first_name},\n\n"
                "Bienvenue chez {scheme} ! Confirmez votre adresse e-mail avec ce lien :\n\n"
                "{link}\n\n"
                "Le lien reste valable {valid_days} jours. Vous n'avez pas créé de compte ? "
                "Ignorez simplement cet e-mail.\n"
            ),
        ),
        "en": MailText(
            subject="Confirm your e-mail address for {scheme}",
            body=(
                "Hello {first_name},\n\n"
                "Welcome to {scheme}! Confirm your e-mail address with this link:\n\n"
                "{link}\n\n"
                "The link stays valid for {valid_days} days. Did not create an account? "
                "Then you can ignore this e-mail.\n"
            ),
        ),
    },
    "password_reset": {
        "nl": MailText(
            subject="Nieuw wachtwoord voor {scheme}",
            body=(
                "Hallo {first_name},\n\n"
                "Iemand vroeg een nieuw wachtwoord aan voor je account. Kies een nieuw "
                "wachtwoord met deze link (één keer bruikbaar, {valid_minutes} minuten geldig):\n\n"
                "{link}\n\n"
                "Was jij dit niet? Dan blijft je huidige wachtwoord gewoon geldig.\n"
            ),
        ),
        "fr": MailText(
            subject="Nouveau mot de passe pour {scheme}",
            body=(
                "Bonjour {first_name},\n\n"
                "Quelqu'un a demandé un nouveau mot de passe pour votre compte. Choisissez-en "
                "un avec ce lien (utilisable une fois, valable {valid_minutes} minutes) :\n\n"
                "{link}\n\n"
                "Ce n'était pas vous ? Votre mot de passe actuel reste valable.\n"
            ),
        ),
        "en": MailText(
            subject="New password for {scheme}",
            body=(
                "Hello {first_name},\n\n"
                "Somebody asked for a new password for your account. Choose one with this "
                "link (single use, valid for {valid_minutes} minutes):\n\n"
                "{link}\n\n"
                "Was this not you? Then your current password simply stays valid.\n"
            ),
        ),
    },
    "merchant_invite": {
        "nl": MailText(
            subject="{shop} doet mee aan {scheme}: kies je wachtwoord",
            body=(
                "Hallo {first_name},\n\n"
                "De gemeente heeft {shop} goedgekeurd voor {scheme}. Kies met deze link een "
                "wachtwoord voor je account als zaakvoerder (één keer bruikbaar, {valid_days} "
                "dagen geldig):\n\n"
                "{link}\n\n"
                "Daarna meld je je aan in de kassa-app en maak je accounts voor je personeel.\n"
            ),
        ),
        "fr": MailText(
            subject="{shop} participe à {scheme} : choisissez votre mot de passe",
            body=(
                "Bonjour {first_name},\n\n"
                "La commune a approuvé {shop} pour {scheme}. Choisissez un mot de passe pour "
                "votre compte de gérant avec ce lien (utilisable une fois, valable {valid_days} "
                "jours) :\n\n"
                "{link}\n\n"
                "Ensuite, connectez-vous à l'application caisse et créez les comptes de votre personnel.\n"
            ),
        ),
        "en": MailText(
            subject="{shop} takes part in {scheme}: choose your password",
            body=(
                "Hello {first_name},\n\n"
                "The municipality approved {shop} for {scheme}. Choose a password for your "
                "owner's account with this link (single use, valid for {valid_days} days):\n\n"
                "{link}\n\n"
                "Then sign in to the till app and create accounts for your staff.\n"
            ),
        ),
    },
    "points_expiring": {
        "nl": MailText(
            subject="{points} punten van {scheme} vervallen op {date}",
            body=(
                "Hallo {first_name},\n\n"
                "Op {date} vervallen {points} punten in je {scheme}-portefeuille. "
                "Gebruik ze voor die dag in een deelnemende winkel:\n\n"
                "{link}\n"
            ),
        ),
        "fr": MailText(
            subject="{points} points {scheme} expirent le {date}",
            body=(
                "Bonjour {first_name},\n\n"
                "Le {date}, {points} points de votre portefeuille {scheme} expirent. "
                "Utilisez-les avant cette date dans un commerce participant :\n\n"
                "{link}\n"
            ),
        ),
        "en": MailText(
            subject="{points} {scheme} points lapse on {date}",
            body=(
                "Hello {first_name},\n\n"
                "On {date}, {points} points in your {scheme} wallet lapse. "
                "Spend them before that day in a participating shop:\n\n"
                "{link}\n"
            ),
        ),
    },
}

# Shown when the shopper left the first name empty.
FALLBACK_NAME = {"nl": "spaarder", "fr": "épargnant", "en": "saver"}


def render(kind: str, language: str | None, **values: object) -> MailText:
    """Subject and body of ``kind`` in ``language`` (Dutch when we lack that language)."""
    by_language = TEXTS[kind]
    language = language if language in by_language else DEFAULT_LANGUAGE
    assert language is not None
    if not values.get("first_name"):
        values["first_name"] = FALLBACK_NAME[language]
    text = by_language[language]
    return MailText(subject=text.subject.format(**values), body=text.body.format(**values))
