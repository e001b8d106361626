"""A first session with walletql, end to end: a customer, a merchant and an operator.

    .venv/bin/walletql serve                 # in another terminal
    python3 examples/first_session.py        # Python 3.11+, standard library only

Options: `--url` (default http://127.0.0.1:8000/graphql) and `--walletql`, the command that runs
walletql's CLI, which alone creates operators (default: .venv/bin/walletql beside this file's
repository, else `python -m walletql.cli`). The CLI reaches the server's database through the
same settings as the server (WALLETQL_DATABASE_URL, or the embedded one in ./.walletql).

Every id and token comes from an answer; nothing is made up. Each step prints what it did; the
last line is a JSON summary. Any unexpected answer stops the script with its code and message.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "a long secret"  # an example's password: choose your own

AUTH = "... on AuthPayload { token user { id role } } ... on Error { code message }"
WALLET = "... on WalletPayload { wallet { id token balance } } ... on Error { code message }"
PAYMENT = """... on PaymentPayload { replayed transaction { id kind status amount }
  wallet { id balance version } }
... on InsufficientFunds { available requested rejected: transaction { id status } }
... on Error { code message }"""
HOLD = """... on HoldPayload { hold { id status capturedAmount remaining }
  capture: transaction { id kind } }
... on Error { code message }"""

SIGNUP = f"mutation($input: SignupInput!) {{ signup(input: $input) {{ __typename {AUTH} }} }}"
LOGIN = f"mutation($input: LoginInput!) {{ login(input: $input) {{ __typename {AUTH} }} }}"
CREATE_WALLET = f"""mutation($input: CreateWalletInput!) {{ createWallet(input: $input) {{
  __typename {WALLET} }} }}"""
DEPOSIT = f"mutation($input: DepositInput!) {{ deposit(input: $input) {{ __typename {PAYMENT} }} }}"
CHARGE = f"mutation($input: ChargeInput!) {{ charge(input: $input) {{ __typename {PAYMENT} }} }}"
AUTHORIZE = (
    f"mutation($input: AuthorizeInput!) {{ authorize(input: $input) {{ __typename {HOLD} }} }}"
)
CAPTURE = f"mutation($input: CaptureInput!) {{ capture(input: $input) {{ __typename {HOLD} }} }}"
REFUND = f"mutation($input: RefundInput!) {{ refund(input: $input) {{ __typename {PAYMENT} }} }}"
APPLY = f"""mutation($input: ApplyOperationInput!) {{ applyOperation(input: $input) {{
  __typename {PAYMENT} }} }}"""
FREEZE = """mutation($input: WalletStatusInput!) { freezeWallet(input: $input) {
  __typename ... on WalletPayload { wallet { id status } } ... on Error { code message } } }"""
HISTORY = """query($id: ID!) { wallet(id: $id) { balance version
  history(first: 20) { totalCount edges { node { direction amount balanceAfter
    transaction { id kind status description } } } } } }"""


class Api:
    """GraphQL over HTTP with the standard library; `token` is sent as a bearer token."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url
        self.token = token

    def call(self, query: str, **variables: object) -> dict:
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(self.url, body, {"content-type": "application/json"})
        if self.token:
            request.add_header("authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.load(response)
        if answer.get("errors"):
            raise SystemExit(f"GraphQL errors: {answer['errors']}")
        return answer["data"]

    def mutate(self, query: str, expected: str, **fields: object) -> dict:
        """A mutation with `input: fields`; its union's `expected` member, or exit with the
        error type's code and message."""
        (name, result), *_ = self.call(query, **({"input": fields} if fields else {})).items()
        if result["__typename"] != expected:
            raise SystemExit(f"{name}: {result['__typename']} {result.get('code')}: {result}")
        return result


def key() -> str:
    """An idempotency key: a retry with the same one replays the first answer."""
    return secrets.token_hex(8)


def step(text: str) -> None:
    print(f"- {text}")


def customer_opens_a_wallet(url: str, email: str) -> tuple[Api, dict]:
    customer = Api(url)
    signup = customer.mutate(SIGNUP, "AuthPayload", email=email, password=PASSWORD, name="Ana")
    customer.token = signup["token"]
    wallet = customer.mutate(CREATE_WALLET, "WalletPayload", currency="USD")["wallet"]
    step(f"customer {signup['user']['id']} opened USD wallet {wallet['id']}")
    paid = customer.mutate(DEPOSIT, "PaymentPayload", walletId=wallet["id"], amount="50.00", idempotencyKey=key())  # fmt: skip
    step(f"deposited 50.00: balance {paid['wallet']['balance']}")
    return customer, wallet


def merchant_charges(url: str, email: str, payment_token: str) -> dict:
    merchant = Api(url)
    signup = merchant.mutate(
        SIGNUP, "AuthPayload", email=email, password=PASSWORD, name="Bruno",
        role="MERCHANT", company={"name": "Corner Cafe"},
    )  # fmt: skip
    merchant.token = signup["token"]
    wallet = merchant.mutate(CREATE_WALLET, "WalletPayload", currency="USD")["wallet"]
    step(f"merchant {signup['user']['id']} opened wallet {wallet['id']}")

    charge = merchant.mutate(
        CHARGE, "PaymentPayload", walletToken=payment_token, amount="4.50",
        idempotencyKey=key(), description="Coffee",
    )  # fmt: skip
    step(f"charged 4.50 by payment token: {charge['transaction']['id']} {charge['transaction']['status']}")  # fmt: skip
    hold = merchant.mutate(
        AUTHORIZE, "HoldPayload", walletToken=payment_token, amount="30.00",
        idempotencyKey=key(), description="Books", expiresInSeconds=86400,
    )["hold"]  # fmt: skip
    step(f"authorized 30.00: hold {hold['id']} {hold['status']}")
    captured = merchant.mutate(
        CAPTURE, "HoldPayload", holdId=hold["id"], amount="12.00", final=True, idempotencyKey=key()
    )
    capture = captured["capture"]
    step(f"captured 12.00 (final): {capture['id']}, hold {captured['hold']['status']}")
    refund = merchant.mutate(
        REFUND, "PaymentPayload", transactionId=capture["id"], amount="2.00", idempotencyKey=key()
    )
    step(f"refunded 2.00 of {capture['id']}: balance {refund['wallet']['balance']}")
    return {"id": wallet["id"], "balance": refund["wallet"]["balance"], "charge": charge}


def create_operator(walletql: list[str], email: str) -> None:
    """Operators exist only through the CLI; the password goes in on stdin, never argv."""
    command = [*walletql, "create-user", "--email", email, "--name", "Back office"]
    command += ["--role", "OPERATOR", "--password-stdin"]
    run = subprocess.run(command, input=PASSWORD + "\n", capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"{shlex.join(command)} failed: {run.stderr.strip()}")
    step(run.stdout.strip())


def operator_acts(url: str, email: str, wallet_id: str, points_id: str) -> dict:
    operator = Api(url)
    operator.token = operator.mutate(LOGIN, "AuthPayload", email=email, password=PASSWORD)["token"]
    reward = operator.mutate(
        APPLY, "PaymentPayload", walletId=points_id, operation="DAILY_REWARD", idempotencyKey=key()
    )  # an operation's amount and currency come from configuration (DAILY_REWARD: +1 CREDIT)
    step(f"operator applied DAILY_REWARD to {points_id}: balance {reward['wallet']['balance']}")
    frozen = operator.mutate(
        FREEZE, "WalletPayload", walletId=wallet_id, reason="a first session's example"
    )["wallet"]
    step(f"operator froze {frozen['id']}: {frozen['status']}")
    return frozen


def run(url: str, walletql: list[str]) -> dict:
    tag = secrets.token_hex(4)  # fresh emails, so the script runs again on the same database
    customer, wallet = customer_opens_a_wallet(url, f"ana-{tag}@example.com")
    merchant = merchant_charges(url, f"bruno-{tag}@example.com", wallet["token"])

    history = customer.call(HISTORY, id=wallet["id"])["wallet"]
    step(f"customer's history: {history['history']['totalCount']} entries, newest first:")
    for edge in history["history"]["edges"]:
        node = edge["node"]
        print(f"    {node['direction']:6} {node['amount']:>6} -> {node['balanceAfter']:>6}"
              f"  {node['transaction']['kind']} {node['transaction']['status']}")  # fmt: skip

    points = customer.mutate(CREATE_WALLET, "WalletPayload", currency="CREDIT")["wallet"]
    step(f"customer opened CREDIT wallet {points['id']}")
    operator_email = f"ops-{tag}@example.com"
    create_operator(walletql, operator_email)
    frozen = operator_acts(url, operator_email, wallet["id"], points["id"])
    refused = customer.mutate(
        DEPOSIT, "WalletInactive", walletId=wallet["id"], amount="1.00", idempotencyKey=key()
    )
    step(f"the customer's deposit to a frozen wallet: {refused['code']}")

    balance = customer.call(HISTORY, id=wallet["id"])["wallet"]["balance"]
    return {
        "customerWallet": wallet["id"],
        "customerBalance": balance,
        "customerPoints": customer.call(HISTORY, id=points["id"])["wallet"]["balance"],
        "merchantWallet": merchant["id"],
        "merchantBalance": merchant["balance"],
        "historyEntries": history["history"]["totalCount"],
        "frozen": frozen["status"],
    }


def default_cli() -> list[str]:
    venv = REPO / ".venv" / "bin" / "walletql"
    return [str(venv)] if venv.exists() else [sys.executable, "-m", "walletql.cli"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000/graphql")
    parser.add_argument("--walletql", help="command for walletql's CLI, e.g. '.venv/bin/walletql'")
    options = parser.parse_args()
    walletql = shlex.split(options.walletql) if options.walletql else default_cli()
    print(json.dumps(run(options.url, walletql)))


if __name__ == "__main__":
    main()
