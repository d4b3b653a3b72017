"""Settings read from environment variables prefixed ELEARN_."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from elearn.certificates.signing import load_private_key

DEV_SECRET = "development-only-secret-key-do-not-use"  # noqa: S105 - refused outside development


class SettingsError(Exception):
    """A setting has a bad value; the message names the variable."""


class Settings(BaseSettings):
    """Everything the app reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="ELEARN_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("data")
    database_url: str = ""
    courses_dir: Path = Path("courses")
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    reload_courses: bool = True
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    worker_threads: int = Field(default=8, ge=1, le=200)
    # Empty: links follow the host and port served (development and tests only).
    base_url: str = Field(default="", pattern=r"^(https?://.+)?$")
    feedback_url: str = Field(default="", pattern=r"^((https?|mailto):.+)?$")
    # The data controller named in the privacy notice, and the contact for access requests.
    controller_name: str = (
        "Nottingham and Nottinghamshire Violence Reduction Partnership"
        " and the Leicestershire Violence Reduction Network"
    )
    privacy_contact: str = "dataprotection@example.org"
    accessibility_contact: str = "accessibility@example.org"
    # "Exit this page" also ends the session, unless this is turned off.
    exit_ends_session: bool = True
    session_idle_minutes: int = Field(default=60, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    login_failures_per_account: int = Field(default=5, ge=1)
    login_failures_per_address: int = Field(default=30, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)
    reset_link_minutes: int = Field(default=60, ge=5)
    sign_ups_per_address_per_hour: int = Field(default=20, ge=1)
    reset_requests_per_address_per_hour: int = Field(default=10, ge=1)
    reset_emails_per_account_per_hour: int = Field(default=3, ge=1)
    invitation_days: int = Field(default=14, ge=1)
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "Trauma-informed practice learning <no-reply@localhost>"
    smtp_starttls: bool = True
    exit_url: str = Field(default="https://www.bbc.co.uk/weather", pattern=r"^https?://")
    # Certificate signing: partnership id -> private key text from `elearn certificates keygen`,
    # as JSON. Outside production a missing key is derived from ELEARN_SECRET_KEY.
    signing_keys: dict[str, str] = Field(default_factory=dict, repr=False)
    verifications_per_address_per_minute: int = Field(default=60, ge=1)
    # Waiting for the database: to connect (PostgreSQL counts at least 2 s), and for one
    # statement (on SQLite, for a lock). Beyond that a page answers "temporarily unavailable".
    database_connect_timeout_seconds: int = Field(default=5, ge=1, le=120)
    database_statement_timeout_seconds: int = Field(default=15, ge=1, le=3600)
    # Proxies whose X-Forwarded-For is believed, as addresses or networks separated by
    # commas (e.g. "10.0.0.5, 172.16.0.0/12"). Empty: the connecting address is the client's.
    trusted_proxies: str = ""

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        import ipaddress

        for part in (p.strip() for p in value.split(",")):
            if part:
                try:
                    ipaddress.ip_network(part, strict=False)
                except ValueError:
                    raise ValueError(f"{part!r} is not an IP address or network") from None
        return value

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'elearn.sqlite3'}"
        if not self.secret_key:
            if self.environment == "production":
                raise ValueError("ELEARN_SECRET_KEY must be set in production")
            self.secret_key = DEV_SECRET
        elif self.environment == "production" and self.secret_key == DEV_SECRET:
            raise ValueError("ELEARN_SECRET_KEY must not be the development key in production")
        for partnership, text in self.signing_keys.items():
            try:
                load_private_key(text)
            except ValueError as exc:  # the message never repeats the key
                raise ValueError(f"ELEARN_SIGNING_KEYS, {partnership}: {exc}") from None
        if self.environment == "production" and not self.base_url:
            raise ValueError("ELEARN_BASE_URL must be set in production (the public address)")
        if self.environment == "production" and not self.signing_keys:
            raise ValueError(
                "ELEARN_SIGNING_KEYS must be set in production (see `elearn certificates keygen`)"
            )
        return self

    @property
    def secure_cookies(self) -> bool:
        """Cookies are marked Secure everywhere but development and tests."""
        return self.environment == "production"

    @property
    def public_url(self) -> str:
        """The address used in emailed links, certificates and examples, without a final /.

        When ELEARN_BASE_URL is unset it follows the host and port being served."""
        if self.base_url:
            return self.base_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host  # noqa: S104
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    @property
    def is_sqlite(self) -> bool:
        """True when the database is a SQLite file or memory database."""
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning a validation failure into one line per bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = "ELEARN_" + str(err["loc"][0]).upper() if err["loc"] else "settings"
            msg = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"{name}: {msg}" if err["loc"] else msg)
        raise SettingsError("; ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings for this process, read once."""
    return load_settings()
