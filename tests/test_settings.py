"""Settings: the documented defaults, and every bad value refused in one line naming the setting."""

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from walletql import db
from walletql.settings import (
    CurrencyConfig,
    OperationConfig,
    SettingsError,
    load,
)


def test_defaults_match_the_design():
    s = load(environ={})
    assert s.database_url is None and s.host == "127.0.0.1" and s.port == 8000
    assert s.token_ttl_seconds == 86400 and s.minimum_balance == Decimal(0)
    assert (s.max_wallets_per_customer, s.max_wallets_per_merchant) == (0, 1)
    assert s.signup_wallet_currency is None and s.cors_origins == () and s.introspection is True
    assert (s.max_query_depth, s.max_aliases, s.max_tokens) == (12, 30, 5000)
    assert s.max_body_bytes == 1024 * 1024
    assert (s.metrics, s.metrics_host, s.metrics_port, s.log_format) == (
        False,
        "127.0.0.1",
        9464,
        "text",
    )
    assert (s.hold_ttl_seconds, s.hold_sweep_seconds, s.max_batch) == (7 * 86400, 5, 1000)
    assert {code: c.decimals for code, c in s.currencies.items()} == {
        "BTC": 8,
        "ETH": 18,
        "MATIC": 18,
        "USD": 2,
        "EUR": 2,
        "CREDIT": 0,
    }
    assert dict(s.operations) == {
        "DAILY_REWARD": OperationConfig(Decimal(1), "CREDIT"),
        "SIGNUP_CREDIT": OperationConfig(Decimal(3), "CREDIT"),
        "CREDIT_SPEND": OperationConfig(Decimal(-1), "CREDIT"),
        "CREDIT_ADD": OperationConfig(Decimal(10), "CREDIT"),
        "CONTENT_CREATION": OperationConfig(Decimal(-5), "CREDIT"),
        "CONTENT_ACCESS": OperationConfig(Decimal(0), "CREDIT"),
    }


def test_good_values_are_parsed():
    s = load(
        environ={
            "WALLETQL_PORT": " 9000 ",
            "WALLETQL_MINIMUM_BALANCE": "-5.50",
            "WALLETQL_INTROSPECTION": "false",
            "WALLETQL_SIGNUP_WALLET_CURRENCY": "usd",
            "WALLETQL_CORS_ORIGINS": "https://a.example/, http://b.example:8080",
            "WALLETQL_MAX_WALLETS_PER_CUSTOMER": "3",
            "WALLETQL_HOST": "0.0.0.0",
            "WALLETQL_HOLD_TTL_SECONDS": "2592000",
            "WALLETQL_HOLD_SWEEP_SECONDS": "25",
            "WALLETQL_MAX_BATCH": "10000",
            "WALLETQL_METRICS": "on",
            "WALLETQL_METRICS_HOST": "0.0.0.0",
            "WALLETQL_METRICS_PORT": "9100",
            "WALLETQL_LOG_FORMAT": " JSON ",
            "WALLETQL_MIGRATE_ON_START": "off",
        }
    )
    assert (s.metrics, s.metrics_host, s.metrics_port, s.log_format) == (
        True,
        "0.0.0.0",
        9100,
        "json",
    )
    assert s.migrate_on_start is False and load(environ={}).migrate_on_start is True
    assert (s.hold_ttl_seconds, s.hold_sweep_seconds, s.max_batch) == (2592000, 25, 10000)
    assert (s.port, s.minimum_balance, s.introspection) == (9000, Decimal("-5.50"), False)
    assert s.signup_wallet_currency == "USD" and s.max_wallets_per_customer == 3
    assert s.cors_origins == ("https://a.example", "http://b.example:8080")
    assert s.host == "0.0.0.0"


def test_sign_in_throttling_defaults_and_values():
    s = load(environ={})
    assert (s.signin_max_failures, s.signin_lockout_seconds, s.signin_max_lockout_seconds) == (
        5,
        60,
        3600,
    )
    assert s.signin_max_address_failures == 100
    assert [str(n) for n in s.trusted_proxies] == ["127.0.0.1/32", "::1/128"]
    s = load(
        environ={
            "WALLETQL_SIGNIN_MAX_FAILURES": "10",
            "WALLETQL_SIGNIN_LOCKOUT_SECONDS": "30",
            "WALLETQL_SIGNIN_MAX_LOCKOUT_SECONDS": "30",
            "WALLETQL_SIGNIN_MAX_ADDRESS_FAILURES": "1000",
            "WALLETQL_TRUSTED_PROXIES": " 10.0.0.0/8 ,192.168.1.7,fd00::/8, ",
        }
    )
    assert (s.signin_max_failures, s.signin_lockout_seconds, s.signin_max_lockout_seconds) == (
        10,
        30,
        30,
    )
    assert s.signin_max_address_failures == 1000
    assert [str(n) for n in s.trusted_proxies] == ["10.0.0.0/8", "192.168.1.7/32", "fd00::/8"]
    assert load(environ={"WALLETQL_TRUSTED_PROXIES": "None"}).trusted_proxies == ()


def test_database_url_forms():
    socket = "postgresql://user@/walletql?host=/var/run/postgresql"
    assert load(environ={"WALLETQL_DATABASE_URL": socket}).database_url == socket
    assert load(environ={"DATABASE_URL": "postgres://h/db"}).database_url == "postgres://h/db"
    both = {"DATABASE_URL": "postgres://h/other", "WALLETQL_DATABASE_URL": "postgres://h/db"}
    assert load(environ=both).database_url == "postgres://h/db"
    assert load(environ={"WALLETQL_DATABASE_URL": "   "}).database_url is None


def test_a_listen_url_is_a_direct_connection_beside_a_pooled_one():
    pooled = "postgresql://app@bouncer:6432/walletql?statement_cache_size=0"
    direct = "postgresql://app@primary:5432/walletql"
    s = load(environ={"WALLETQL_DATABASE_URL": pooled, "WALLETQL_LISTEN_DATABASE_URL": direct})
    assert (s.database_url, s.listen_database_url) == (pooled, direct)
    assert load(environ={"WALLETQL_DATABASE_URL": pooled}).listen_database_url is None
    with pytest.raises(SettingsError, match="needs WALLETQL_DATABASE_URL"):
        load(environ={"WALLETQL_LISTEN_DATABASE_URL": direct})
    with pytest.raises(SettingsError, match="WALLETQL_READ_DATABASE_URL needs"):
        load(environ={"WALLETQL_READ_DATABASE_URL": direct})
    read = load(environ={"WALLETQL_DATABASE_URL": pooled, "WALLETQL_READ_DATABASE_URL": direct})
    assert (read.read_database_url, read.read_wait_ms) == (direct, 100)


def test_a_multi_host_url_gives_the_pool_every_host_in_order():
    url = "postgresql://app@primary:5433,standby:5433/db?target_session_attrs=read-write"
    credentials = db.tortoise_config(url, 4)["connections"]["default"]["credentials"]
    assert credentials["host"] == ["primary", "standby"] and credentials["port"] == 5433
    assert credentials["target_session_attrs"] == "read-write"
    assert db.single_host("postgresql://app@[::1],h/db") == (
        "postgresql://app@[::1]:5432/db",
        ["::1", "h"],
    )
    assert db.single_host("postgresql://app@h:6432/db") == ("postgresql://app@h:6432/db", [])
    with pytest.raises(SettingsError, match="WALLETQL_DATABASE_URL: the hosts .* one port"):
        load(environ={"WALLETQL_DATABASE_URL": "postgresql://app@a:5432,b:5433/db"})
    with pytest.raises(
        SettingsError, match=r"WALLETQL_DATABASE_URL: not a usable URL \(Invalid IPv6"
    ):
        load(environ={"WALLETQL_DATABASE_URL": "postgresql://app@[::1/db"})


def test_client_options_stay_out_of_the_dsn_sent_to_the_server():
    # asyncpg sends a query parameter it does not know to the server as a setting, which
    # PostgreSQL refuses ("unrecognized configuration parameter").
    url = "postgresql://app@h:6432/db?statement_cache_size=0&maxsize=5&sslmode=disable"
    assert db.asyncpg_dsn(url) == "postgresql://app@h:6432/db?sslmode=disable"


BAD_ENV = [
    ("WALLETQL_PORT", "abc"),
    ("WALLETQL_PORT", "70000"),
    ("WALLETQL_PORT", "0"),
    ("WALLETQL_PORT", "80.5"),
    ("WALLETQL_WORKERS", "0"),
    ("WALLETQL_KEEP_ALIVE_SECONDS", "0"),
    ("WALLETQL_DB_POOL_SIZE", "many"),
    ("WALLETQL_TOKEN_TTL_SECONDS", "0"),
    ("WALLETQL_TOKEN_TTL_SECONDS", "-60"),
    ("WALLETQL_TOKEN_TTL_SECONDS", "1.5"),
    ("WALLETQL_TOKEN_TTL_SECONDS", "one hour"),
    ("WALLETQL_MAX_WALLETS_PER_MERCHANT", "-1"),
    ("WALLETQL_MAX_WALLETS_PER_CUSTOMER", "two"),
    ("WALLETQL_MINIMUM_BALANCE", "1e3"),
    ("WALLETQL_MINIMUM_BALANCE", "NaN"),
    ("WALLETQL_MINIMUM_BALANCE", "1,5"),
    ("WALLETQL_MINIMUM_BALANCE", "0.0000000000000000001"),
    ("WALLETQL_MINIMUM_BALANCE", "1" * 21),
    ("WALLETQL_INTROSPECTION", "maybe"),
    ("WALLETQL_MIGRATE_ON_START", "later"),
    ("WALLETQL_SIGNUP_WALLET_CURRENCY", "XXX"),
    ("WALLETQL_CORS_ORIGINS", "ftp://files.example"),
    ("WALLETQL_LOG_LEVEL", "LOUD"),
    ("WALLETQL_DATABASE_URL", "mysql://h/db"),
    ("DATABASE_URL", "sqlite:///walletql.db"),
    ("WALLETQL_LISTEN_DATABASE_URL", "redis://h/0"),
    ("WALLETQL_READ_DATABASE_URL", "mysql://replica/db"),
    ("WALLETQL_READ_WAIT_MS", "-1"),
    ("WALLETQL_READ_WAIT_MS", "10001"),
    ("WALLETQL_CONFIG", "/nonexistent/walletql.toml"),
    ("WALLETQL_HOLD_TTL_SECONDS", "0"),
    ("WALLETQL_HOLD_TTL_SECONDS", "2592001"),  # 30 days at most
    ("WALLETQL_HOLD_SWEEP_SECONDS", "26"),  # the contract releases within 30 s
    ("WALLETQL_MAX_BATCH", "0"),
    ("WALLETQL_MAX_BATCH", "10001"),
    ("WALLETQL_METRICS", "sometimes"),
    ("WALLETQL_METRICS_PORT", "0"),
    ("WALLETQL_LOG_FORMAT", "xml"),
    ("WALLETQL_SIGNIN_MAX_FAILURES", "0"),
    ("WALLETQL_SIGNIN_MAX_FAILURES", "1001"),
    ("WALLETQL_SIGNIN_LOCKOUT_SECONDS", "0"),
    ("WALLETQL_SIGNIN_MAX_LOCKOUT_SECONDS", "30"),  # below the first lockout (60 s)
    ("WALLETQL_SIGNIN_MAX_ADDRESS_FAILURES", "0"),
    ("WALLETQL_TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal"),
    ("WALLETQL_TRUSTED_PROXIES", "10.0.0.1/33"),
]


@pytest.mark.parametrize(("name", "value"), BAD_ENV)
def test_bad_environment_value_names_the_setting(name, value):
    with pytest.raises(SettingsError) as info:
        load(environ={name: value})
    message = str(info.value)
    named = "WALLETQL_DATABASE_URL" if name == "DATABASE_URL" else name
    assert named in message and "\n" not in message


@pytest.mark.parametrize(("raw", "seconds"), [("1", 1), (" 1 ", 1), ("59", 59), ("3600", 3600)])
def test_token_ttl_accepts_any_whole_number_of_at_least_one(raw, seconds):
    assert load(environ={"WALLETQL_TOKEN_TTL_SECONDS": raw}).token_ttl_seconds == seconds


def test_token_ttl_of_zero_is_refused_naming_the_setting():
    with pytest.raises(SettingsError) as info:
        load(environ={"WALLETQL_TOKEN_TTL_SECONDS": "0"})
    assert str(info.value) == (
        "WALLETQL_TOKEN_TTL_SECONDS: expected a whole number of at least 1, got 0"
    )


BAD_TOML = [
    ("[currencies.GEMS]\nname = 'Gems'\ndecimals = 19\n", "currencies.GEMS.decimals"),
    ("[currencies.GEMS]\nname = 'Gems'\ndecimals = -1\n", "currencies.GEMS.decimals"),
    ("[currencies.GEMS]\nname = 'Gems'\ndecimals = '2'\n", "currencies.GEMS.decimals"),
    ("[currencies.GEMS]\nname = ''\ndecimals = 0\n", "currencies.GEMS.name"),
    ("[currencies.GEMS]\nname = 'Gems'\ndecimals = 0\nsymbol = 'G'\n", "currencies.GEMS"),
    ("[currencies.gems]\nname = 'Gems'\ndecimals = 0\n", "currencies.gems"),
    ("[currencies]\n", "[currencies]"),
    ("[operations.BONUS]\namount = 5\ncurrency = 'CREDIT'\n", "operations.BONUS.amount"),
    ("[operations.BONUS]\namount = '1e3'\ncurrency = 'CREDIT'\n", "operations.BONUS.amount"),
    ("[operations.BONUS]\namount = '5'\n", "operations.BONUS.currency"),
    ("[extras]\nx = 1\n", "[extras]"),
    ("this is = not toml [", "WALLETQL_CONFIG"),
]


@pytest.mark.parametrize(("text", "named"), BAD_TOML)
def test_bad_config_file_names_the_setting(tmp_path, text, named):
    path = tmp_path / "walletql.toml"
    path.write_text(text)
    with pytest.raises(SettingsError) as info:
        load(environ={"WALLETQL_CONFIG": str(path)})
    assert named in str(info.value) and "\n" not in str(info.value)


def test_config_file_tables_replace_the_defaults(tmp_path):
    path = tmp_path / "walletql.toml"
    path.write_text("[currencies.GEMS]\nname = ' Gems '\ndecimals = 0\n")
    s = load(environ={"WALLETQL_CONFIG": str(path)})
    assert dict(s.currencies) == {"GEMS": CurrencyConfig("Gems", 0)}
    assert s.operations["DAILY_REWARD"] == OperationConfig(Decimal(1), "CREDIT")
    assert s.config_file == path
    # The signup currency must exist in the configured currencies, not the defaults.
    with pytest.raises(SettingsError, match="WALLETQL_SIGNUP_WALLET_CURRENCY"):
        load(environ={"WALLETQL_CONFIG": str(path), "WALLETQL_SIGNUP_WALLET_CURRENCY": "USD"})
    s = load(environ={"WALLETQL_CONFIG": str(path), "WALLETQL_SIGNUP_WALLET_CURRENCY": "gems"})
    assert s.signup_wallet_currency == "GEMS"


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")}
    clean.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "walletql.cli", *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WALLETQL_PORT", "abc"),
        ("WALLETQL_TOKEN_TTL_SECONDS", "0"),
        ("WALLETQL_INTROSPECTION", "maybe"),
        ("WALLETQL_MINIMUM_BALANCE", "1e3"),
        ("WALLETQL_CONFIG", "/nonexistent/walletql.toml"),
        ("WALLETQL_DATABASE_URL", "mysql://h/db"),
    ],
)
def test_cli_with_a_bad_setting_prints_one_line(name, value):
    result = run_cli("migrate", **{name: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0], result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_cli_with_a_bad_config_file_prints_one_line(tmp_path):
    path = Path(tmp_path) / "walletql.toml"
    path.write_text("[currencies.GEMS]\nname = 'Gems'\ndecimals = 19\n")
    result = run_cli("verify", WALLETQL_CONFIG=str(path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "currencies.GEMS.decimals" in lines[0]
    assert "Traceback" not in result.stderr
