"""Configuration as plain classes. Environment variables with the TRADING_ prefix override any key
(TRADING_SECRET_KEY, TRADING_BROKER …); DATABASE_URL selects PostgreSQL for production and CI."""

from __future__ import annotations

import os


def normalise_database_url(url: str) -> str:
    """postgres:// and postgresql:// both mean psycopg 3 here."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    #: set from the instance folder's secret_key file (made on first start) unless given
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None  # default: sqlite file in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh", "en")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024
    #: notices per page on the portal
    PAGE_SIZE = 20
    #: the county this installation serves (shown in headers, used in trade codes)
    COUNTY_NAME = "示范县"
    COUNTY_NAME_EN = "Demo County"
    TRADE_CODE_PREFIX = "SFX"
    #: who may load a calendar year or change settings is decided in services; this names the contact
    ADMIN_CONTACT = "交易中心信息科"
    #: the platform's TOTP issuer name shown in authenticator apps
    TOTP_ISSUER = "示范县公共资源交易平台"
    #: OCDS ocid prefix ("ocds-" + 6 characters) assigned to the publisher by the Open Contracting
    #: Partnership at registration; the default is a placeholder nobody holds (trading/opendata/rules.py)
    OCDS_OCID_PREFIX = "ocds-000000"
    #: how many reverse proxies in front of the app set X-Forwarded-For / -Proto (werkzeug ProxyFix);
    #: 0 (the default) trusts no header: the client address recorded in audit entries and the
    #: supervisors' access log is then the socket's peer. Set it (TRADING_TRUSTED_PROXIES=1) only when
    #: every request passes through that many proxies, or a client could forge its address.
    TRUSTED_PROXIES = 0
    #: public base URL of the open data (links in packages); None: the request's own root URL
    OPENDATA_BASE_URL: str | None = None


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"
    WTF_CSRF_ENABLED = True
    SQLALCHEMY_DATABASE_URI = "sqlite://"


def database_url_from_env() -> str | None:
    url = os.environ.get("DATABASE_URL")
    return normalise_database_url(url) if url else None
