"""E-mail the weekly reports through SMTP, when the environment configures it (optional).

``ENT_SMTP_HOST`` (required to send), ``ENT_SMTP_PORT`` (default 587 with STARTTLS, 465 is implicit TLS,
else 25), ``ENT_SMTP_USER`` / ``ENT_SMTP_PASSWORD`` (login, optional), ``ENT_SMTP_FROM`` (sender; default
the user), ``ENT_SMTP_STARTTLS`` (1/true/oui to upgrade the connection) and ``ENT_REPORT_RECIPIENTS``: a
JSON object mapping an académie code (``"14"``) or ``"FR"`` (national report) to a list of addresses.
Each report goes to its recipients with a French summary in the body and the HTML and PDF attached.
Without host or recipients nothing is sent and the outcome says why.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from pipelines.defs.reports.weekly import read_manifest

TRUE = ("1", "true", "yes", "oui", "on")


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    user: str | None
    password: str | None
    sender: str
    starttls: bool
    recipients: dict[str, list[str]]


@dataclass
class MailOutcome:
    configured: bool
    reason: str | None = None                                   # why nothing was sent
    sent: list[dict] = field(default_factory=list)              # {code, to, subject}
    skipped: list[str] = field(default_factory=list)            # report codes without recipients
    errors: list[str] = field(default_factory=list)

    def as_metadata(self) -> dict:
        if not self.configured:
            return {"email": f"non envoyé : {self.reason}"}
        return {"email": f"{len(self.sent)} message(s) envoyé(s), {len(self.errors)} échec(s)",
                "email_sent_to": {s["code"]: s["to"] for s in self.sent},
                **({"email_errors": self.errors} if self.errors else {})}


def smtp_config_from_env(env: Mapping[str, str] | None = None) -> tuple[SmtpConfig | None, str | None]:
    """The SMTP configuration, or None and the reason (in French) when e-mail is not configured."""
    env = os.environ if env is None else env
    host = (env.get("ENT_SMTP_HOST") or "").strip()
    if not host:
        return None, "SMTP non configuré (ENT_SMTP_HOST absent)"
    raw = (env.get("ENT_REPORT_RECIPIENTS") or "").strip()
    if not raw:
        return None, "aucun destinataire (ENT_REPORT_RECIPIENTS absent)"
    try:
        mapping = json.loads(raw)
        if not isinstance(mapping, dict):
            raise ValueError("un objet JSON est attendu")
        recipients = {str(code): [mapping[code]] if isinstance(mapping[code], str) else [str(a) for a in mapping[code]]
                      for code in mapping}
    except (ValueError, TypeError) as exc:
        return None, f"ENT_REPORT_RECIPIENTS illisible ({exc}) : attendu un objet JSON code → liste d'adresses"
    starttls = (env.get("ENT_SMTP_STARTTLS") or "").strip().lower() in TRUE
    try:
        port = int(env.get("ENT_SMTP_PORT") or (587 if starttls else 25))
    except ValueError:
        return None, f"ENT_SMTP_PORT invalide : {env.get('ENT_SMTP_PORT')!r}"
    user = env.get("ENT_SMTP_USER") or None
    sender = env.get("ENT_SMTP_FROM") or user
    if not sender:
        return None, "expéditeur inconnu (ENT_SMTP_FROM absent)"
    return SmtpConfig(host, port, user, env.get("ENT_SMTP_PASSWORD") or None, sender, starttls, recipients), None


def _body(manifest: dict, entry: dict) -> str:
    summary = entry.get("summary") or {}
    lines = [
        "Bonjour,",
        "",
        f"Voici le rapport hebdomadaire de l'Observatoire ENT pour {entry['title']}, "
        f"{manifest['week_label']}.",
        "",
    ]
    if summary.get("parent_active_rate_text"):
        lines.append(f"Taux d'activité des parents : {summary['parent_active_rate_text']} "
                     f"({summary.get('parent_active_rate_change_text', '—')} par rapport à la semaine précédente).")
        lines.append(f"Taux d'activation des comptes parents : {summary.get('parent_activation_rate_text', '—')}.")
    if summary.get("widening_gaps"):
        lines.append("Écarts qui se creusent : " + " ; ".join(summary["widening_gaps"]) + ".")
    if summary.get("flagged_schools"):
        lines.append(f"Établissements nouvellement hors des limites sur le trimestre : {summary['flagged_schools']}.")
    lines += ["", "Le rapport complet est joint : en HTML (graphiques interactifs, s'ouvre sans connexion)"
              + (" et en PDF." if entry.get("pdf") else ". Le PDF n'a pas pu être produit cette semaine.")]
    if manifest.get("demo"):
        lines += ["", "Attention : données de démonstration (synthétiques)."]
    lines += ["", "-- ", "Observatoire ENT (message automatique)"]
    return "\n".join(lines)


def build_message(manifest: dict, entry: dict, week_dir: Path, sender: str, to: list[str]) -> EmailMessage:
    """One report's message: French subject and body, HTML and PDF attached."""
    message = EmailMessage()
    message["Subject"] = f"Observatoire ENT – {entry['title']} – rapport de la {manifest['week_label']}"
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(_body(manifest, entry))
    html = (week_dir / entry["html"]).read_bytes()
    message.add_attachment(html, maintype="text", subtype="html", filename=entry["html"])
    if entry.get("pdf"):
        message.add_attachment((week_dir / entry["pdf"]).read_bytes(), maintype="application", subtype="pdf",
                               filename=entry["pdf"])
    return message


def _connect(config: SmtpConfig, timeout: float) -> smtplib.SMTP:
    if config.port == 465 and not config.starttls:
        return smtplib.SMTP_SSL(config.host, config.port, timeout=timeout, context=ssl.create_default_context())
    client = smtplib.SMTP(config.host, config.port, timeout=timeout)
    if config.starttls:
        client.starttls(context=ssl.create_default_context())
    return client


def send_weekly_reports(week_dir: Path, env: Mapping[str, str] | None = None, *, timeout: float = 30.0) -> MailOutcome:
    """Send each report of ``week_dir`` to its recipients; do nothing (and say why) when not configured."""
    config, reason = smtp_config_from_env(env)
    if config is None:
        return MailOutcome(configured=False, reason=reason)
    week_dir = Path(week_dir)
    manifest = read_manifest(week_dir)
    outcome = MailOutcome(configured=True)
    todo = [(e, config.recipients.get(e["code"], [])) for e in manifest["reports"]]
    outcome.skipped = [e["code"] for e, to in todo if not to]
    todo = [(e, to) for e, to in todo if to]
    if not todo:
        return outcome
    try:
        with _connect(config, timeout) as client:
            if config.user and config.password:
                client.login(config.user, config.password)
            for entry, to in todo:
                message = build_message(manifest, entry, week_dir, config.sender, to)
                try:
                    refused = client.send_message(message)
                    outcome.sent.append({"code": entry["code"], "to": [a for a in to if a not in refused],
                                         "subject": message["Subject"]})
                    if refused:
                        outcome.errors.append(f"{entry['code']} : adresses refusées {sorted(refused)}")
                except smtplib.SMTPException as exc:
                    outcome.errors.append(f"{entry['code']} : {exc}")
    except (OSError, smtplib.SMTPException) as exc:
        outcome.errors.append(f"connexion SMTP à {config.host}:{config.port} impossible : {exc}")
    return outcome
