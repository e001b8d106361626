"""walletql: a wallet ledger served as a GraphQL API."""

__version__ = "0.1.0"
