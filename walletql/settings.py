"""One frozen Settings object, from `WALLETQL_*` environment variables and an optional TOML file.

A bad value raises SettingsError whose message is one line naming the setting; the CLI prints
it and exits, so nobody ever sees a traceback for a typo in a configuration.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path


class SettingsError(Exception):
    """A setting has a value walletql cannot run with."""


@dataclass(frozen=True)
class CurrencyConfig:
    name: str
    decimals: int


@dataclass(frozen=True)
class OperationConfig:
    amount: Decimal
    currency: str


DEFAULT_CURRENCIES: Mapping[str, CurrencyConfig] = {
    "BTC": CurrencyConfig("Bitcoin", 8),
    "ETH": CurrencyConfig("Ether", 18),
    "MATIC": CurrencyConfig("Polygon", 18),
    "USD": CurrencyConfig("US dollar", 2),
    "EUR": CurrencyConfig("Euro", 2),
    "CREDIT": CurrencyConfig("App credits", 0),
}

DEFAULT_OPERATIONS: Mapping[str, OperationConfig] = {
    "DAILY_REWARD": OperationConfig(Decimal("1"), "CREDIT"),
    "SIGNUP_CREDIT": OperationConfig(Decimal("3"), "CREDIT"),
    "CREDIT_SPEND": OperationConfig(Decimal("-1"), "CREDIT"),
    "CREDIT_ADD": OperationConfig(Decimal("10"), "CREDIT"),
    "CONTENT_CREATION": OperationConfig(Decimal("-5"), "CREDIT"),
    "CONTENT_ACCESS": OperationConfig(Decimal("0"), "CREDIT"),
}

# NUMERIC(38, 18): 18 fractional digits (ETH) leave 20 for the integer part.
MAX_DECIMALS = 18
MAX_INTEGER_DIGITS = 20

# The proxies whose X-Forwarded-For is believed by default: one on the same machine.
LOOPBACK = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128"))
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    # A direct connection (not through a transaction pooler such as PgBouncer) for what needs a
    # session of its own: LISTEN and the migration lock. Unset: database_url.
    listen_database_url: str | None = None
    # A streaming replica for query operations (walletql.replica), and how long a query waits
    # for it to replay what the primary had committed before reading the primary instead.
    read_database_url: str | None = None
    read_wait_ms: int = 100
    data_dir: Path = Path(".walletql")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    keep_alive_seconds: int = 75
    header_timeout_seconds: int = 10
    max_connections: int = 4096
    db_pool_size: int = 10
    posting_concurrency: int = 2
    token_ttl_seconds: int = 86400
    hold_ttl_seconds: int = 7 * 86400  # a hold's life when authorize names none
    hold_sweep_seconds: int = 5  # how often each server releases expired holds
    max_batch: int = 1000  # items of one postBatch
    minimum_balance: Decimal = Decimal("0")
    max_wallets_per_customer: int = 0
    max_wallets_per_merchant: int = 1
    signup_wallet_currency: str | None = None
    cors_origins: tuple[str, ...] = ()
    introspection: bool = True
    fast_paths: bool = True
    migrate_on_start: bool = True  # false: `walletql migrate` alone migrates (a deploy step)
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 5000
    max_query_length: int = 65536
    max_body_bytes: int = 1024 * 1024
    document_cache_bytes: int = 32 * 1024 * 1024
    max_query_cost: int = 5000
    max_response_bytes: int = 4 * 1024 * 1024
    max_cached_document_bytes: int = 64 * 1024
    subscriber_queue_size: int = 256
    max_subscriptions_per_user: int = 100
    log_level: str = "INFO"
    log_format: str = "text"  # "json": one JSON object per line (walletql.log_format)
    metrics: bool = False  # Prometheus metrics, served by `walletql serve` on their own port
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9464
    # Sign-in throttling (walletql.ledger.throttle): failures per email, then per address.
    signin_max_failures: int = 5
    signin_lockout_seconds: int = 60  # the first lockout; each further one doubles it
    signin_max_lockout_seconds: int = 3600
    signin_max_address_failures: int = 100  # in 15 minutes (throttle.ADDRESS_WINDOW)
    trusted_proxies: tuple[Network, ...] = LOOPBACK
    config_file: Path | None = None
    currencies: Mapping[str, CurrencyConfig] = field(default_factory=lambda: DEFAULT_CURRENCIES)
    operations: Mapping[str, OperationConfig] = field(default_factory=lambda: DEFAULT_OPERATIONS)

    def with_changes(self, **changes) -> Settings:
        return replace(self, **changes)


def _int(name: str, raw: str, low: int, high: int | None = None) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(f"{name}: expected a whole number, got {raw!r}") from None
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise SettingsError(f"{name}: expected a whole number {bounds}, got {value}")
    return value


def _bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}: expected true or false, got {raw!r}")


def _decimal(name: str, raw: str) -> Decimal:
    text = raw.strip()
    if not _DECIMAL.match(text):
        raise SettingsError(
            f"{name}: expected a plain decimal number like 20 or -5.50, got {raw!r}"
        )
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes this
        raise SettingsError(f"{name}: not a decimal number: {raw!r}") from None


def _currencies(path: Path, table: object) -> dict[str, CurrencyConfig]:
    if not isinstance(table, dict) or not table:
        raise SettingsError(f"{path}: [currencies] must be a non-empty table")
    result = {}
    for code, spec in table.items():
        where = f"{path}: currencies.{code}"
        if not _CODE.match(code):
            raise SettingsError(f"{where}: a code is 1-32 capital letters, digits or _")
        if not isinstance(spec, dict):
            raise SettingsError(f"{where}: must be a table with name and decimals")
        name, decimals = spec.get("name"), spec.get("decimals")
        if not isinstance(name, str) or not name.strip():
            raise SettingsError(f"{where}.name: expected a non-empty string")
        if type(decimals) is not int or not 0 <= decimals <= MAX_DECIMALS:
            raise SettingsError(f"{where}.decimals: expected a whole number from 0 to 18")
        unknown = set(spec) - {"name", "decimals"}
        if unknown:
            raise SettingsError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        result[code] = CurrencyConfig(name.strip(), decimals)
    return result


def _operations(path: Path, table: object) -> dict[str, OperationConfig]:
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: [operations] must be a table")
    result = {}
    for code, spec in table.items():
        where = f"{path}: operations.{code}"
        if not _CODE.match(code):
            raise SettingsError(f"{where}: a code is 1-32 capital letters, digits or _")
        if not isinstance(spec, dict):
            raise SettingsError(f"{where}: must be a table with amount and currency")
        amount, currency = spec.get("amount"), spec.get("currency")
        if not isinstance(amount, str):
            raise SettingsError(f'{where}.amount: expected a decimal string such as "-5"')
        if not isinstance(currency, str):
            raise SettingsError(f"{where}.currency: expected a currency code string")
        unknown = set(spec) - {"amount", "currency"}
        if unknown:
            raise SettingsError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        result[code] = OperationConfig(_decimal(f"{where}.amount", amount), currency)
    return result


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise SettingsError(f"WALLETQL_CONFIG: no such file: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"WALLETQL_CONFIG: {path} is not valid TOML: {exc}") from None


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from the environment (default: os.environ) and the optional TOML file."""
    env = dict(os.environ if environ is None else environ)
    values: dict = {}

    def get(name: str) -> str | None:
        raw = env.get(f"WALLETQL_{name}")
        return raw if raw is not None and raw.strip() != "" else None

    url = get("DATABASE_URL") or (env.get("DATABASE_URL") or "").strip() or None
    if url is not None:
        if not url.startswith(("postgres://", "postgresql://")):
            raise SettingsError("WALLETQL_DATABASE_URL: expected a postgresql:// URL")
        values["database_url"] = url
        from walletql.db import MultiHostPorts, single_host

        try:
            single_host(url)
        except MultiHostPorts as exc:
            raise SettingsError(f"WALLETQL_DATABASE_URL: {exc}") from None
        except ValueError as exc:  # urlsplit's own refusals, e.g. "Invalid IPv6 URL"
            raise SettingsError(f"WALLETQL_DATABASE_URL: not a usable URL ({exc})") from None
    for name in ("LISTEN_DATABASE_URL", "READ_DATABASE_URL"):
        if (other := get(name)) is None:
            continue
        if not other.startswith(("postgres://", "postgresql://")):
            raise SettingsError(f"WALLETQL_{name}: expected a postgresql:// URL")
        if url is None:
            raise SettingsError(
                f"WALLETQL_{name} needs WALLETQL_DATABASE_URL (the embedded database has no "
                "pooler or replica)"
            )
        values[name.lower()] = other.strip()
    if (raw := get("DATA_DIR")) is not None:
        values["data_dir"] = Path(raw)
    if (raw := get("HOST")) is not None:
        values["host"] = raw.strip()
    ints = {
        "PORT": ("port", 1, 65535),
        "WORKERS": ("workers", 1, 64),
        "KEEP_ALIVE_SECONDS": ("keep_alive_seconds", 1, 3600),
        "HEADER_TIMEOUT_SECONDS": ("header_timeout_seconds", 1, 3600),
        "MAX_CONNECTIONS": ("max_connections", 1, 1_000_000),
        "DB_POOL_SIZE": ("db_pool_size", 1, 1000),
        "POSTING_CONCURRENCY": ("posting_concurrency", 0, 1000),
        "TOKEN_TTL_SECONDS": ("token_ttl_seconds", 1, None),
        "HOLD_TTL_SECONDS": ("hold_ttl_seconds", 1, 30 * 86400),
        "HOLD_SWEEP_SECONDS": ("hold_sweep_seconds", 1, 25),  # the contract: released within 30 s
        "MAX_BATCH": ("max_batch", 1, 10_000),
        "READ_WAIT_MS": ("read_wait_ms", 0, 10_000),
        "MAX_WALLETS_PER_CUSTOMER": ("max_wallets_per_customer", 0, None),
        "MAX_WALLETS_PER_MERCHANT": ("max_wallets_per_merchant", 0, None),
        "MAX_QUERY_DEPTH": ("max_query_depth", 1, 100),
        "MAX_ALIASES": ("max_aliases", 1, 1000),
        "MAX_TOKENS": ("max_tokens", 10, 1_000_000),
        "MAX_QUERY_LENGTH": ("max_query_length", 100, None),
        "MAX_BODY_BYTES": ("max_body_bytes", 1024, None),
        "DOCUMENT_CACHE_BYTES": ("document_cache_bytes", 0, None),
        "MAX_QUERY_COST": ("max_query_cost", 1, None),
        "MAX_RESPONSE_BYTES": ("max_response_bytes", 1024, None),
        "MAX_CACHED_DOCUMENT_BYTES": ("max_cached_document_bytes", 0, None),
        "SUBSCRIBER_QUEUE_SIZE": ("subscriber_queue_size", 1, 1_000_000),
        "MAX_SUBSCRIPTIONS_PER_USER": ("max_subscriptions_per_user", 1, 1_000_000),
        "METRICS_PORT": ("metrics_port", 1, 65535),
        "SIGNIN_MAX_FAILURES": ("signin_max_failures", 1, 1000),
        "SIGNIN_LOCKOUT_SECONDS": ("signin_lockout_seconds", 1, 86400),
        "SIGNIN_MAX_LOCKOUT_SECONDS": ("signin_max_lockout_seconds", 1, 7 * 86400),
        "SIGNIN_MAX_ADDRESS_FAILURES": ("signin_max_address_failures", 1, 1_000_000),
    }
    for name, (attr, low, high) in ints.items():
        if (raw := get(name)) is not None:
            values[attr] = _int(f"WALLETQL_{name}", raw, low, high)
    if (raw := get("MINIMUM_BALANCE")) is not None:
        values["minimum_balance"] = _decimal("WALLETQL_MINIMUM_BALANCE", raw)
    if (raw := get("INTROSPECTION")) is not None:
        values["introspection"] = _bool("WALLETQL_INTROSPECTION", raw)
    if (raw := get("FAST_PATHS")) is not None:
        values["fast_paths"] = _bool("WALLETQL_FAST_PATHS", raw)
    if (raw := get("METRICS")) is not None:
        values["metrics"] = _bool("WALLETQL_METRICS", raw)
    if (raw := get("METRICS_HOST")) is not None:
        values["metrics_host"] = raw.strip()
    if (raw := get("MIGRATE_ON_START")) is not None:
        values["migrate_on_start"] = _bool("WALLETQL_MIGRATE_ON_START", raw)
    if (raw := get("CORS_ORIGINS")) is not None:
        origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
        for origin in origins:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise SettingsError(f"WALLETQL_CORS_ORIGINS: {origin!r} is not an http(s) origin")
        values["cors_origins"] = origins
    if (raw := get("TRUSTED_PROXIES")) is not None:
        values["trusted_proxies"] = _networks("WALLETQL_TRUSTED_PROXIES", raw)
    if (raw := get("LOG_LEVEL")) is not None:
        level = raw.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise SettingsError("WALLETQL_LOG_LEVEL: expected DEBUG, INFO, WARNING or ERROR")
        values["log_level"] = level
    if (raw := get("LOG_FORMAT")) is not None:
        log_format = raw.strip().lower()
        if log_format not in ("text", "json"):
            raise SettingsError("WALLETQL_LOG_FORMAT: expected text or json")
        values["log_format"] = log_format

    if (raw := get("CONFIG")) is not None:
        path = Path(raw)
        document = _read_toml(path)
        unknown = set(document) - {"currencies", "operations"}
        if unknown:
            raise SettingsError(f"{path}: unknown table [{sorted(unknown)[0]}]")
        values["config_file"] = path
        if "currencies" in document:
            values["currencies"] = _currencies(path, document["currencies"])
        if "operations" in document:
            values["operations"] = _operations(path, document["operations"])

    settings = Settings(**values)
    if settings.signup_wallet_currency is None and (raw := get("SIGNUP_WALLET_CURRENCY")):
        code = raw.strip().upper()
        if code not in settings.currencies:
            raise SettingsError(f"WALLETQL_SIGNUP_WALLET_CURRENCY: unknown currency {code!r}")
        settings = replace(settings, signup_wallet_currency=code)
    _check_floor(settings)
    if settings.signin_max_lockout_seconds < settings.signin_lockout_seconds:
        raise SettingsError(
            "WALLETQL_SIGNIN_MAX_LOCKOUT_SECONDS: must be at least WALLETQL_SIGNIN_LOCKOUT_SECONDS "
            f"({settings.signin_lockout_seconds}), got {settings.signin_max_lockout_seconds}"
        )
    return settings


def _networks(name: str, raw: str) -> tuple[Network, ...]:
    """Comma-separated IP addresses or CIDR networks; `none` for no proxy at all."""
    if raw.strip().lower() == "none":
        return ()
    networks = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SettingsError(
                f"{name}: {item!r} is not an IP address or network (e.g. 10.0.0.0/8), nor `none`"
            ) from None
    return tuple(networks)


def _check_floor(settings: Settings) -> None:
    floor = settings.minimum_balance
    exponent = int(floor.as_tuple().exponent)  # finite: the setting was parsed as a number
    digits = len(floor.as_tuple().digits) + exponent
    if -exponent > MAX_DECIMALS or digits > MAX_INTEGER_DIGITS:
        raise SettingsError("WALLETQL_MINIMUM_BALANCE: out of range for a money amount")
