"""Login and scope of the dashboard user, decided on the server at every run.

- Local accounts: ``pipelines.users`` (argon2id hashes in the users file). A successful login stores in
  the session an HMAC-signed token (login, method, issue time, the user's session generation); every run
  checks the signature, the age and the generation, then re-reads the user's role and académie **from
  the users file**. A password change draws a new generation, so the sessions opened before end at their
  next run; a removed user's sessions end likewise. Nothing else from ``st.session_state`` or the query
  string decides what the user may see, so setting ``role``, ``academie`` or a forged token there changes
  nothing (a bad token is logged).
- The token secret is drawn per process and never written down: tokens never leave the server (they sit
  in the session state, which lives in this process's memory and does not survive a restart either).
- OIDC: when ``.streamlit/secrets.toml`` has an ``[auth]`` section, ``st.login()`` proves the identity;
  the identity's e-mail must be verified by the provider (``email_verified`` exactly true) and match a
  user of the users file (``--email``), which gives the role.
- Repeated failures lock a login, and a client address, for a while (``ent_dash.lockout``: a SQLite
  file shared by every process, checked and reserved before the password is).
- Every login, failure, refusal and logout is appended to the audit log (``pipelines.users.audit``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import streamlit as st

from ent_dash.data import Scope
from ent_dash.lockout import Lockout
from pipelines import users as accounts

TOKEN_KEY = "_ent_session"
SESSION_SECONDS = 8 * 3600

_SECRET = secrets.token_bytes(32)  # per process, like the session state that holds the tokens


@dataclass(frozen=True)
class Principal:
    login: str
    role: str
    academie: str | None
    method: str  # "local" or "oidc"

    @property
    def scope(self) -> Scope:
        return Scope("national", None) if self.role == "national" else Scope("academie", (self.academie,))


class SessionRejected(Exception):
    """A session token that no longer stands for anyone (forged, expired, revoked, user gone)."""

    def __init__(self, reason: str, login: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.login = login


class LoginLocked(Exception):
    """Too many failed attempts for this login or this address: refused before any password check."""


def _sign(payload: str) -> str:
    return hmac.new(_SECRET, payload.encode(), hashlib.sha256).hexdigest()


def issue_token(user: accounts.User, method: str = "local") -> str:
    payload = f"{user.login}|{method}|{int(time.time())}|{user.session_generation}|{secrets.token_hex(8)}"
    return f"{payload}|{_sign(payload)}"


def session_principal(token) -> Principal:
    """The user a session token stands for now, re-read from the users file; raises SessionRejected."""
    if not isinstance(token, str) or token.count("|") != 5:
        raise SessionRejected("invalid or expired session token")
    payload, signature = token.rsplit("|", 1)
    if not hmac.compare_digest(_sign(payload).encode(), signature.encode()):
        raise SessionRejected("invalid or expired session token")
    login, method, issued, generation, _ = payload.split("|")
    if time.time() - int(issued) > SESSION_SECONDS:
        raise SessionRejected("invalid or expired session token", login)
    user = accounts.get_user(login)
    if user is None:
        raise SessionRejected("user removed or disabled", login)
    if not hmac.compare_digest(user.session_generation.encode(), generation.encode()):
        raise SessionRejected("session revoked: password changed or account replaced", login)
    return Principal(user.login, user.role, user.academie, method)


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all
        return False


def current_principal() -> Principal | None:
    """The logged-in user as the server sees it now, or None."""
    token = st.session_state.get(TOKEN_KEY)
    if token is not None:
        try:
            return session_principal(token)
        except SessionRejected as rejected:
            accounts.audit("session_rejected", login=rejected.login, reason=rejected.reason)
            del st.session_state[TOKEN_KEY]
    if oidc_configured() and getattr(st.user, "is_logged_in", False):
        email = str(st.user.get("email") or "")
        # Only an address the identity provider says it has verified proves who logs in; no claim, no proof.
        verified = st.user.get("email_verified") is True
        user = accounts.user_by_email(email) if verified else None
        if user is None:
            if not st.session_state.get("_ent_oidc_refused"):
                accounts.audit("login_refused", method="oidc", email=email,
                               reason="identity not in the users file" if verified
                               else "e-mail not verified by the identity provider (email_verified is not true)")
                st.session_state["_ent_oidc_refused"] = True
            return None
        st.session_state[TOKEN_KEY] = issue_token(user, "oidc")
        accounts.audit("login", method="oidc", login=user.login, role=user.role, academie=user.academie)
        return Principal(user.login, user.role, user.academie, "oidc")
    return None


def authenticate(login: str, password: str, address: str | None) -> accounts.User | None:
    """Check a local password under the lockout: the user, or None; raises LoginLocked (no check made).

    The attempt is reserved in the lockout store before the password is checked, so parallel attempts
    cannot check more passwords than the limit allows."""
    store = Lockout(accounts.login_attempts_path())
    attempt = store.reserve(login, address)
    if attempt is None:
        accounts.audit("login_refused", method="local", login=login, address=address,
                       reason="too many failures: locked")
        raise LoginLocked(login)
    user = None
    try:
        user = accounts.verify_password(login, password)
    finally:
        store.record(attempt, success=user is not None)
    if user is None:
        accounts.audit("login_failed", method="local", login=login, address=address)
    return user


def attempt_login(login: str, password: str) -> Principal | None:
    """Check a local login; on success store the signed token in the session. Raises LoginLocked."""
    login = (login or "").strip().lower()
    address = st.context.ip_address  # None for a loopback client: the per-login limit still applies
    address = address if isinstance(address, str) else None  # streamlit.testing reports a mock
    user = authenticate(login, password, address)
    if user is None:
        return None
    st.session_state[TOKEN_KEY] = issue_token(user)
    accounts.audit("login", method="local", login=user.login, role=user.role, academie=user.academie,
                   address=address)
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
            st.error("Votre identité n'est associée à aucun compte de l'Observatoire, ou le fournisseur "
                     "d'identité n'a pas vérifié son adresse e-mail. Demandez à l'administrateur de vous "
                     "ajouter (ent-equity users add … --email).")
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
        try:
            principal = attempt_login(login, password)
        except LoginLocked:
            st.error("Trop de tentatives : réessayez dans quelques minutes.")
            return
        if principal is None:
            st.error("Identifiant ou mot de passe incorrect.")
        else:
            st.rerun()
