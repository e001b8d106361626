"""`walletql` as a user runs it: a subprocess, real database, one clear line for every failure."""

import os
import secrets
import subprocess
import sys

import pytest

from tests.calls import ledger
from walletql import auth, ids
from walletql.models import Role, Scope, User

PASSWORD = "a long operator passphrase"


@pytest.fixture
def cli(database_url):
    def run(*args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")}
        clean.pop("DATABASE_URL", None)
        return subprocess.run(
            [sys.executable, "-m", "walletql.cli", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**clean, "WALLETQL_DATABASE_URL": database_url, **env},
            timeout=120,
        )

    return run


def one_line_failure(result: subprocess.CompletedProcess, *needles: str) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def create_user_args(email: str, *extra: str) -> list[str]:
    return ["create-user", "--email", email, "--name", "Root", "--password-stdin", *extra]


async def test_create_user_makes_an_operator_from_stdin(cli):
    email = f"ops{secrets.token_hex(4)}@example.com"
    result = cli(*create_user_args(email, "--role", "OPERATOR"), stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert "OPERATOR" in result.stdout and email in result.stdout
    user = await User.get(email=email)
    assert user.role == Role.OPERATOR
    # The id printed is the one the API shows: the process read the database's id key.
    assert f"(id {ids.encode(ids.USER, user.id)})" in result.stdout
    assert f"(id {user.id})" not in result.stdout
    # The password is exactly what was typed, without the newline.
    session = await ledger.login(email, PASSWORD)
    assert session.user.id == user.id

    again = cli(*create_user_args(email.upper(), "--role", "OPERATOR"), stdin=PASSWORD + "\n")
    assert again.returncode == 2
    one_line_failure(again, "ALREADY_EXISTS")
    assert await User.filter(email=email).count() == 1


@pytest.mark.parametrize("password", ["short", "1234567890123", ""])
async def test_create_user_with_a_weak_password_fails_in_one_line(cli, password):
    email = f"weak{secrets.token_hex(4)}@example.com"
    result = cli(*create_user_args(email, "--role", "OPERATOR"), stdin=password + "\n")
    one_line_failure(result, "WEAK_PASSWORD")
    assert not await User.filter(email=email).exists()


async def test_create_merchant_needs_a_company(cli):
    email = f"shop{secrets.token_hex(4)}@example.com"
    one_line_failure(cli(*create_user_args(email, "--role", "MERCHANT"), stdin=PASSWORD), "company")
    result = cli(
        *create_user_args(email, "--role", "MERCHANT", "--company", "Shop"), stdin=PASSWORD
    )
    assert result.returncode == 0, result.stderr
    assert (await User.get(email=email)).company_name == "Shop"


def test_migrate_on_a_migrated_database_applies_nothing(cli):
    result = cli("migrate")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "applied 0 migration(s)"


def test_verify_on_a_clean_ledger_exits_zero(cli):
    result = cli("verify")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ledger verified: OK")


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("postgresql://127.0.0.1:1/walletql", "unreachable"),
        ("postgresql://127.0.0.1:notaport/walletql", "WALLETQL_DATABASE_URL"),
        ("postgresql://[::1/walletql", "WALLETQL_DATABASE_URL"),
    ],
)
def test_unusable_database_fails_in_one_line(cli, url, needle):
    assert one_line_failure(cli("verify", WALLETQL_DATABASE_URL=url), needle)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_with_an_unreachable_database_fails_in_one_line(cli, workers):
    # The check runs in a child process (`walletql migrate`): its one line is the only output,
    # and nothing is served.
    result = cli(
        "serve",
        "--workers",
        workers,
        "--port",
        "1",
        WALLETQL_DATABASE_URL="postgresql://127.0.0.1:1/x",
    )
    one_line_failure(result, "unreachable")
    assert "serving" not in result.stdout + result.stderr


def test_missing_database_on_the_server_fails_in_one_line(cli, database_url):
    url = database_url.replace("walletql_test_", "walletql_absent_")
    one_line_failure(cli("migrate", WALLETQL_DATABASE_URL=url), "unreachable")


def test_unusable_data_dir_fails_in_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")}
    clean.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "walletql.cli", "migrate"],
        capture_output=True,
        text=True,
        env={**clean, "WALLETQL_DATA_DIR": str(blocker / "data")},
        timeout=60,
    )
    assert result.returncode == 2
    one_line_failure(result, "WALLETQL_DATA_DIR")


def test_version_is_the_installed_release(cli):
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    result = cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"walletql {project['project']['version']}"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_on_a_busy_port_fails_in_one_line_without_serving(cli, workers):
    """The port is bound before "serving" is printed: a port another process listens on fails
    in one line, and nothing says the server is serving."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = cli("serve", "--port", port, "--workers", workers)
    one_line_failure(result, f"cannot listen on 127.0.0.1:{port}", "in use")
    assert "serving" not in result.stdout + result.stderr


def test_usage_errors_are_not_tracebacks(cli):
    result = cli()
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "usage" in result.stderr


def test_the_serve_supervisor_imports_neither_asyncio_nor_openssl():
    """`walletql serve`'s supervisor lives as long as the server: what it imports it keeps
    (asyncio and asyncpg ~15 MB, hashlib's OpenSSL ~4 MB), and it needs none of them."""
    import subprocess
    import sys

    code = (
        "import sys, walletql.cli, walletql.serve; "
        "print(sorted(m for m in ('asyncio', 'asyncpg', '_hashlib') if m in sys.modules))"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]", shown.stdout


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_hands_the_database_url_to_its_children_not_to_its_own_environment(
    monkeypatch, workers
):
    """The embedded database's URL is only known once `serve` started it: the migration child
    and the workers get it in their own environment, and this process's environment stays as
    it was (a single worker's app, built here, finds the embedded server this process runs)."""
    import walletql.cli as cli
    import walletql.serve
    from walletql import db
    from walletql.settings import Settings

    url = "postgresql://walletql:secret@/walletql?host=/tmp/embedded"
    monkeypatch.setattr(db, "embedded_url", lambda data_dir: url)
    children = []

    def run(command, **options):
        children.append((command, options))
        return subprocess.CompletedProcess(command, 0)

    served = {}

    def serve(*positional, **options):
        served.update(options)
        return 0

    monkeypatch.setattr(cli.subprocess, "run", run)
    monkeypatch.setattr(walletql.serve, "serve", serve)
    monkeypatch.setattr(walletql.serve, "listen", lambda host, port, workers: [])
    before = dict(os.environ)
    args = cli.parser().parse_args(["serve", "--workers", workers])
    assert cli._serve(Settings(database_url=None), args) == 0
    assert dict(os.environ) == before
    ((command, options),) = children
    assert command[-1] == "migrate" and url not in " ".join(command)
    assert options["env"]["WALLETQL_DATABASE_URL"] == url
    assert served["database_url"] == url  # for the workers' environment (walletql.serve)


def test_a_workers_environment_carries_the_url_and_leaves_this_ones_alone():
    from walletql.serve import with_database_url

    before = dict(os.environ)
    environment = with_database_url("postgresql://u:p@h/db")
    assert environment == {**before, "WALLETQL_DATABASE_URL": "postgresql://u:p@h/db"}
    assert dict(os.environ) == before


async def test_create_api_key_prints_the_secret_once_on_stdout_alone(cli):
    email = f"ops{secrets.token_hex(4)}@example.com"
    made = cli(*create_user_args(email, "--role", "OPERATOR"), stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    result = cli(
        "create-api-key", "--email", email.upper(), "--name", "back office", "--scopes",
        "READ,OPERATIONS",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (secret,) = result.stdout.splitlines()  # nothing else on stdout: it can be piped
    assert secret.startswith("wqk_") and secret not in result.stderr
    assert secret[:12] in result.stderr and "READ,OPERATIONS" in result.stderr
    user = await User.get(email=email)
    caller = await auth.caller_of(secret, auth.LiveTokens())
    assert caller is not None and caller.user.id == user.id
    assert caller.scopes == {Scope.READ, Scope.OPERATIONS}

    customer = f"c{secrets.token_hex(4)}@example.com"
    cli(*create_user_args(customer), stdin=PASSWORD + "\n")
    refused = cli("create-api-key", "--email", customer, "--name", "x", "--scopes", "OPERATIONS")
    one_line_failure(refused, "FORBIDDEN")
    assert refused.stdout == ""
    unknown = cli(
        "create-api-key", "--email", "nobody@example.com", "--name", "x", "--scopes", "READ"
    )
    one_line_failure(unknown, "NOT_FOUND")
    bad = cli("create-api-key", "--email", email, "--name", "x", "--scopes", "EVERYTHING")
    one_line_failure(bad, "BAD_INPUT")
