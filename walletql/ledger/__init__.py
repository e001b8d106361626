"""The money core: accounts, wallets, the one posting path, reads and verification. No GraphQL."""
