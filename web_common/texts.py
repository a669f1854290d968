"""Texts every app page needs, in nl (default), fr and en; apps merge their own on top."""

from __future__ import annotations

COMMON: dict[str, dict[str, str]] = {
    "nl": {
        "skip_to_content": "Naar de inhoud",
        "language": "Taal",
        "error_generic": "Er ging iets mis. Probeer het opnieuw.",
        "error_network_error": "Geen verbinding. Controleer het netwerk en probeer opnieuw.",
        "error_validation_error": "Controleer de ingevulde gegevens.",
        "error_rate_limited": "Te veel pogingen. Wacht even en probeer opnieuw.",
        "error_invalid_credentials": "E-mailadres of wachtwoord klopt niet.",
        "error_service_busy": "Het is even druk. Probeer het opnieuw.",
        "sign_out": "Afmelden",
        "loading": "Bezig met laden…",
    },
    "fr": {
        "skip_to_content": "Aller au contenu",
        "language": "Langue",
        "error_generic": "Une erreur s'est produite. Veuillez réessayer.",
        "error_network_error": "Pas de connexion. Vérifiez le réseau et réessayez.",
        "error_validation_error": "Vérifiez les données saisies.",
        "error_rate_limited": "Trop de tentatives. Patientez un instant et réessayez.",
        "error_invalid_credentials": "Adresse e-mail ou mot de passe incorrect.",
        "error_service_busy": "Le service est occupé. Veuillez réessayer.",
        "sign_out": "Se déconnecter",
        "loading": "Chargement…",
    },
    "en": {
        "skip_to_content": "Skip to content",
        "language": "Language",
        "error_generic": "Something went wrong. Please try again.",
        "error_network_error": "No connection. Check the network and try again.",
        "error_validation_error": "Please check what you entered.",
        "error_rate_limited": "Too many attempts. Wait a moment and try again.",
        "error_invalid_credentials": "E-mail address or password is wrong.",
        "error_service_busy": "The service is busy. Please try again.",
        "sign_out": "Sign out",
        "loading": "Loading…",
    },
}


def texts(lang: str, app_texts: dict[str, dict[str, str]]) -> dict[str, str]:
    """The common texts overlaid with the app's, Dutch filling any gap."""
    merged = {**COMMON["nl"], **app_texts.get("nl", {})}
    merged.update(COMMON.get(lang, {}))
    merged.update(app_texts.get(lang, {}))
    return merged
