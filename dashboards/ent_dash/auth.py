"""Login and scope of the dashboard user, decided on the server at every run.

- Local accounts: ``pipelines.users`` (argon2id hashes in the users file). A successful login stores in
  the session an HMAC-signed token (login, issue time) under a per-process secret; every run checks
  the signature and the age, then re-reads the user's role and académie **from the users file**.
  Nothing else from ``st.session_state`` or the query string decides what the user may see, so
  setting ``role``, ``academie`` or a forged token there changes nothing (a bad token is logged).
- OIDC: when ``.streamlit/secrets.toml`` has an ``[auth]`` section, ``st.login()`` proves the identity;
  the identity's e-mail must match a user of the users file (``--email``), which gives the role.
- Every login, failure, refusal and logout is appended to the audit log (``pipelines.users.audit``).
- Repeated failures lock a login for a while (in-process counter).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

import streamlit as st

from ent_dash.data import Scope
from pipelines import users as accounts

TOKEN_KEY = "_ent_session"
SESSION_SECONDS = 8 * 3600
MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60

_SECRET = secrets.token_bytes(32)  # per process: a restart logs everybody out
_failures: dict[str, list[float]] = {}
_failures_lock = threading.Lock()


@dataclass(frozen=True)
class Principal:
    login: str
    role: str
    academie: str | None
    method: str  # "local" or "oidc"

    @property
    def scope(self) -> Scope:
        return Scope("national", None) if self.role == "national" else Scope("academie", (self.academie,))


def _sign(payload: str) -> str:
    return hmac.new(_SECRET, payload.encode(), hashlib.sha256).hexdigest()


def issue_token(login: str, method: str = "local") -> str:
    payload = f"{login}|{method}|{int(time.time())}|{secrets.token_hex(8)}"
    return f"{payload}|{_sign(payload)}"


def _verify_token(token) -> tuple[str, str] | None:
    if not isinstance(token, str) or token.count("|") != 4:
        return None
    payload, signature = token.rsplit("|", 1)
    if not hmac.compare_digest(_sign(payload), signature):
        return None
    login, method, issued, _ = payload.split("|")
    if time.time() - int(issued) > SESSION_SECONDS:
        return None
    return login, method


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all
        return False


def _locked(login: str) -> bool:
    now = time.time()
    with _failures_lock:
        recent = [t for t in _failures.get(login, []) if now - t < LOCK_SECONDS]
        _failures[login] = recent
        return len(recent) >= MAX_FAILURES


def _record_failure(login: str) -> None:
    with _failures_lock:
        _failures.setdefault(login, []).append(time.time())


def _clear_failures(login: str) -> None:
    with _failures_lock:
        _failures.pop(login, None)


def current_principal() -> Principal | None:
    """The logged-in user as the server sees it now, or None."""
    token = st.session_state.get(TOKEN_KEY)
    if token is not None:
        verified = _verify_token(token)
        if verified is None:
            accounts.audit("session_rejected", reason="invalid or expired session token")
            del st.session_state[TOKEN_KEY]
        else:
            login, method = verified
            user = accounts.get_user(login)
            if user is None:
                accounts.audit("session_rejected", login=login, reason="user removed or disabled")
                del st.session_state[TOKEN_KEY]
                return None
            return Principal(user.login, user.role, user.academie, method)
    if oidc_configured() and getattr(st.user, "is_logged_in", False):
        email = str(st.user.get("email") or "")
        # An address the identity provider says it has not verified proves nothing about who logs in.
        unverified = st.user.get("email_verified") in (False, "false", "False")
        user = None if unverified else accounts.user_by_email(email)
        if user is None:
            if not st.session_state.get("_ent_oidc_refused"):
                accounts.audit("login_refused", method="oidc", email=email,
                               reason="e-mail not verified by the identity provider" if unverified
                               else "identity not in the users file")
                st.session_state["_ent_oidc_refused"] = True
            return None
        st.session_state[TOKEN_KEY] = issue_token(user.login, "oidc")
        accounts.audit("login", method="oidc", login=user.login, role=user.role, academie=user.academie)
        return Principal(user.login, user.role, user.academie, "oidc")
    return None


def attempt_login(login: str, password: str) -> Principal | None:
    """Check a local login; on success store the signed token in the session."""
    login = (login or "").strip().lower()
    if _locked(login):
        accounts.audit("login_refused", method="local", login=login, reason="too many failures: locked")
        return None
    user = accounts.verify_password(login, password)
    if user is None:
        _record_failure(login)
        accounts.audit("login_failed", method="local", login=login)
        return None
    _clear_failures(login)
    st.session_state[TOKEN_KEY] = issue_token(user.login)
    accounts.audit("login", method="local", login=user.login, role=user.role, academie=user.academie)
    return Principal(user.login, user.role, user.academie, "local")


def logout(principal: Principal) -> None:
    accounts.audit("logout", login=principal.login)
    st.session_state.pop(TOKEN_KEY, None)
    if principal.method == "oidc" and oidc_configured():
        st.logout()


def login_form() -> None:
    """The login page: local account form, and the identity provider's button when configured."""
    st.title("Observatoire ENT")
    st.caption("Usage de l'espace numérique de travail par les familles — accès réservé")
    if oidc_configured():
        if getattr(st.user, "is_logged_in", False):
            st.error("Votre identité n'est associée à aucun compte de l'Observatoire. "
                     "Demandez à l'administrateur de vous ajouter (ent-equity users add … --email).")
            if st.button("Se déconnecter du fournisseur d'identité"):
                st.logout()
        elif st.button("Se connecter avec le fournisseur d'identité", type="primary"):
            try:
                import authlib  # noqa: F401  (st.login needs Authlib >= 1.3.2)
            except ImportError:
                st.error("Connexion OIDC configurée mais le paquet Authlib n'est pas installé.")
            else:
                st.login()
        st.divider()
        st.caption("Ou avec un compte local :")
    with st.form("login", clear_on_submit=True):
        login = st.text_input("Identifiant", key="login_user")
        password = st.text_input("Mot de passe", type="password", key="login_password")
        submitted = st.form_submit_button("Se connecter", type="primary")
    if submitted:
        principal = attempt_login(login, password)
        if principal is None:
            if _locked((login or "").strip().lower()):
                st.error("Trop de tentatives : réessayez dans quelques minutes.")
            else:
                st.error("Identifiant ou mot de passe incorrect.")
        else:
            st.rerun()
