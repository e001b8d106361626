"""The root Query, Mutation and Subscription: GraphQL input -> ledger call -> GraphQL output."""
