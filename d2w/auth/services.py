"""Business verbs for accounts: sign-in, sessions, passwords and link tokens.

Services take the acting user and plain values, flush, and raise domain exceptions. They never
commit, flash, abort or read the current user; the view or CLI command commits once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import bindparam, select, update

from d2w.audit import services as audit
from d2w.auth.models import AuthToken, LoginThrottle, TokenPurpose, User, UserSession
from d2w.auth.passwords import Hasher, HashParams, password_problems
from d2w.core import generations, upsert
from d2w.core.db import utcnow
from d2w.core.errors import DomainError
from d2w.core.extensions import db

# ---------------------------------------------------------------------------------------------
# Helpers


def normalise_email(email: str) -> str:
    """Validate an e-mail address's syntax and return it in the stored (lower-case) form."""
    try:
        info = validate_email((email or "").strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise DomainError(f"Enter a valid e-mail address ({exc}).", field="email") from None
    return info.normalized.lower()


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def hasher() -> Hasher:
    ext = current_app.extensions
    if "d2w_hasher" not in ext:
        cfg = current_app.config
        ext["d2w_hasher"] = Hasher(
            HashParams(cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_COST"], cfg["ARGON2_PARALLELISM"])
        )
    return ext["d2w_hasher"]


def check_new_password(password: str, user: User | None = None, *, field: str = "password") -> None:
    cfg = current_app.config
    context = ()
    if user is not None:
        context = (user.email.split("@")[0], *user.name.split())
    problems = password_problems(
        password,
        min_length=cfg["PASSWORD_MIN_LENGTH"],
        max_length=cfg["PASSWORD_MAX_LENGTH"],
        context_words=context,
    )
    if problems:
        raise DomainError(" ".join(problems), field=field)


def set_password(user: User, password: str) -> None:
    check_new_password(password, user)
    user.password_hash = hasher().hash(password)
    user.password_changed_at = utcnow()
    db.session.flush()


def get_user_by_email(email: str) -> User | None:
    try:
        normalised = normalise_email(email)
    except DomainError:
        return None
    return db.session.scalar(select(User).where(User.email == normalised))


# ---------------------------------------------------------------------------------------------
# Sessions


def create_session(user: User, *, ip: str | None, user_agent: str | None) -> str:
    """Start a server-side session; return the raw token for the cookie."""
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        UserSession(
            user_id=user.id,
            token_hash=_hash_token(raw),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=current_app.config["SESSION_MAX_HOURS"]),
            ip=ip,
            user_agent=(user_agent or "")[:200] or None,
        )
    )
    db.session.flush()
    return raw


@dataclass
class LoadedSession:
    user: User
    session_id: int


def load_session(raw: str | None) -> LoadedSession | None:
    """Return the user of a live session token, or None if it is unknown, ended or expired.

    A live session's ``last_seen_at`` is refreshed at most once a minute, in its own short
    transaction, so that reading pages never commits the request's unit of work.
    """
    if not raw or not isinstance(raw, str):
        return None
    now = utcnow()
    row = db.session.execute(_SESSION_BY_TOKEN, {"token_hash": _hash_token(raw)}).first()
    if row is None:
        return None
    session_id, revoked_at, expires_at, last_seen_at, user = row
    idle = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    if revoked_at is not None or expires_at <= now or last_seen_at + idle <= now or not user.active:
        return None
    if now - last_seen_at > timedelta(seconds=60):
        with db.engine.begin() as conn:
            conn.execute(update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now))
    return LoadedSession(user=user, session_id=session_id)


# Every request asks this, so the statement is built once: the session's times (not the whole
# row) and its user, by the token's hash.
_SESSION_BY_TOKEN = (
    select(UserSession.id, UserSession.revoked_at, UserSession.expires_at, UserSession.last_seen_at, User)
    .join(User, User.id == UserSession.user_id)
    .where(UserSession.token_hash == bindparam("token_hash"))
)


def end_session(raw: str | None, *, actor: User | None) -> None:
    if not raw:
        return
    us = db.session.scalar(select(UserSession).where(UserSession.token_hash == _hash_token(raw)))
    if us is not None and us.revoked_at is None:
        us.revoked_at = utcnow()
        audit.record(actor, "auth.logout", us.user if actor is None else actor)
    db.session.flush()


def revoke_sessions(user: User, *, actor: User | None, keep_session_id: int | None = None, reason: str) -> int:
    """End every live session of ``user`` (but ``keep_session_id``); return how many."""
    stmt = (
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if keep_session_id is not None:
        stmt = stmt.where(UserSession.id != keep_session_id)
    count = db.session.execute(stmt).rowcount
    if count:
        audit.record(actor, "auth.sessions_ended", user, summary=f"{count} session(s) ended: {reason}")
    db.session.flush()
    return count


def revoke_own_session(user: User, session_id: int) -> None:
    """End one of the user's own sessions. Another user's session is 'not found'."""
    from d2w.auth.policy import sessions_of

    us = db.session.scalar(sessions_of(user).where(UserSession.id == session_id))
    if us is None:
        from d2w.core.errors import NotFound

        raise NotFound()
    if us.revoked_at is None:
        us.revoked_at = utcnow()
        audit.record(user, "auth.sessions_ended", user, summary="1 session(s) ended: signed out by its owner")
    db.session.flush()


def live_sessions(user: User) -> list[UserSession]:
    from d2w.auth.policy import sessions_of

    now = utcnow()
    idle = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    rows = db.session.scalars(
        sessions_of(user)
        .where(UserSession.revoked_at.is_(None), UserSession.expires_at > now)
        .order_by(UserSession.last_seen_at.desc())
    ).all()
    return [s for s in rows if s.last_seen_at + idle > now]


# ---------------------------------------------------------------------------------------------
# Sign-in and throttling


def _throttle_key(email: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, email.strip().lower().encode(), hashlib.sha256).hexdigest()


@dataclass
class LoginResult:
    user: User | None = None
    token: str | None = None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.token is not None


def _throttle_row(key: str) -> LoginThrottle:
    db.session.execute(
        upsert.insert(LoginThrottle)
        .values(key=key, failures=0, window_started_at=utcnow())
        .on_conflict_do_nothing(index_elements=["key"])
    )
    return db.session.scalar(
        select(LoginThrottle).where(LoginThrottle.key == key).execution_options(populate_existing=True)
    )


def authenticate(email: str, password: str, *, ip: str | None, user_agent: str | None) -> LoginResult:
    """Check an e-mail and password, count failures per address, and start a session.

    The caller shows one generic message for every failure, so nobody can tell from the answer
    whether an address has an account.
    """
    cfg = current_app.config
    now = utcnow()
    key = _throttle_key(email or "")
    throttle = db.session.get(LoginThrottle, key)
    if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
        return LoginResult(locked_until=throttle.locked_until)

    user = get_user_by_email(email or "")
    ok = hasher().verify(user.password_hash if user else None, password or "")
    if ok and user is not None and user.active:
        if throttle is not None:
            db.session.delete(throttle)
        if hasher().needs_rehash(user.password_hash):
            user.password_hash = hasher().hash(password)
        # The time of last sign-in is shown by no kept page part: written without renewing the
        # programme's token, so that signing in does not make every worker draw its kept pages
        # again (d2w.core.generations).
        db.session.execute(
            update(User)
            .where(User.id == user.id)
            .values(last_login_at=now)
            .execution_options(synchronize_session=False, **{generations.UNMARKED: True})
        )
        db.session.expire(user, ["last_login_at"])
        token = create_session(user, ip=ip, user_agent=user_agent)
        audit.record(user, "auth.login", user)
        return LoginResult(user=user, token=token)

    throttle = _throttle_row(key)
    window = timedelta(minutes=cfg["LOGIN_FAILURE_WINDOW_MINUTES"])
    if throttle.window_started_at + window <= now:
        throttle.failures = 0
        throttle.window_started_at = now
        throttle.locked_until = None
    db.session.flush()
    db.session.execute(
        update(LoginThrottle).where(LoginThrottle.key == key).values(failures=LoginThrottle.failures + 1)
    )
    db.session.refresh(throttle)
    audit.record(None, "auth.login_failed", user if user else None, object_type=None if user else None)
    if throttle.failures >= cfg["LOGIN_MAX_FAILURES"]:
        throttle.locked_until = now + timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
        audit.record(None, "auth.account_locked", user if user else None)
        db.session.flush()
        return LoginResult(locked_until=throttle.locked_until)
    db.session.flush()
    return LoginResult()


def clear_lock(email: str) -> None:
    throttle = db.session.get(LoginThrottle, _throttle_key(email))
    if throttle is not None:
        db.session.delete(throttle)
        db.session.flush()


# ---------------------------------------------------------------------------------------------
# Passwords and link tokens


def change_password(user: User, *, current: str, new: str, keep_session_id: int | None) -> None:
    """Change a password; every other session of the user ends."""
    if not hasher().verify(user.password_hash, current):
        raise DomainError("Your current password is not right.", field="current_password")
    check_new_password(new, user, field="new_password")
    if hasher().verify(user.password_hash, new):
        raise DomainError("Choose a password different from your current one.", field="new_password")
    set_password(user, new)
    audit.record(user, "auth.password_changed", user)
    revoke_sessions(user, actor=user, keep_session_id=keep_session_id, reason="password changed")


def issue_token(user: User, purpose: TokenPurpose, *, created_by: User | None) -> str:
    """Make a new single-use link token; earlier unused ones of the same purpose stop working."""
    cfg = current_app.config
    now = utcnow()
    db.session.execute(
        update(AuthToken)
        .where(
            AuthToken.user_id == user.id,
            AuthToken.purpose == purpose.value,
            AuthToken.used_at.is_(None),
            AuthToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    life = (
        timedelta(hours=cfg["INVITE_TOKEN_HOURS"])
        if purpose is TokenPurpose.INVITE
        else timedelta(minutes=cfg["RESET_TOKEN_MINUTES"])
    )
    raw = secrets.token_urlsafe(32)
    db.session.add(
        AuthToken(
            user_id=user.id,
            purpose=purpose.value,
            token_hash=_hash_token(raw),
            created_at=now,
            expires_at=now + life,
            created_by_id=created_by.id if created_by else None,
        )
    )
    db.session.flush()
    return raw


def find_valid_token(raw: str) -> AuthToken | None:
    if not raw or len(raw) > 200:
        return None
    token = db.session.scalar(select(AuthToken).where(AuthToken.token_hash == _hash_token(raw)))
    if token is None or token.used_at or token.revoked_at or token.expires_at <= utcnow():
        return None
    if not token.user.active:
        return None
    return token


def use_token(raw: str, new_password: str) -> User:
    """Set a password from an invitation or reset link; the link then stops working."""
    token = find_valid_token(raw)
    if token is None:
        raise DomainError("This link has expired or has already been used. Ask for a new one.")
    user = token.user
    set_password(user, new_password)
    # Single use even when the link is submitted twice at once: only one UPDATE can win.
    claimed = db.session.execute(
        update(AuthToken)
        .where(AuthToken.id == token.id, AuthToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise DomainError("This link has expired or has already been used. Ask for a new one.")
    revoke_sessions(user, actor=user, reason="password set from an e-mailed link")
    clear_lock(user.email)
    action = "auth.invitation_accepted" if token.purpose == TokenPurpose.INVITE else "auth.password_reset"
    audit.record(user, action, user)
    db.session.flush()
    return user


def request_password_reset(email: str) -> tuple[User, str] | None:
    """Return (user, raw token) to e-mail, or None when there is no active account with a password.

    The view says the same thing in both cases.
    """
    user = get_user_by_email(email)
    if user is None or not user.active or not user.has_password:
        return None
    raw = issue_token(user, TokenPurpose.RESET, created_by=None)
    audit.record(None, "auth.password_reset_requested", user)
    return user, raw
