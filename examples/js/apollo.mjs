// walletql with Apollo Client 4: queries and mutations over HTTP, subscriptions over a
// websocket (graphql-ws), one client split by operation type.
//
//   node apollo.mjs [http://127.0.0.1:8000/graphql] [amount]
//
// Signs up a new customer, opens a USD wallet, subscribes to its balance, deposits `amount`
// (default 25.00), sees the update arrive live, reads the balance back, then shows why the
// cache needs `possibleTypes`. Prints a JSON summary; exits 0 on success, 1 on any failure.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { SetContextLink } from "@apollo/client/link/context";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { isSubscriptionOperation } from "@apollo/client/utilities";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

// Generated from schema.graphql by `npm run codegen` (graphql-codegen's fragment-matcher).
import generated from "./generated/possible-types.js";

const url = process.argv[2] ?? "http://127.0.0.1:8000/graphql";
const amount = process.argv[3] ?? "25.00";
let token = null; // the bearer token, once signed up; read by both links on each operation

const httpLink = new SetContextLink(({ headers }) => ({
  headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
})).concat(new HttpLink({ uri: url }));

const sockets = createClient({
  url: url.replace(/^http/, "ws"),
  // Node 20 has no global WebSocket: hand graphql-ws the `ws` package's (in a browser, omit it).
  webSocketImpl: WebSocket,
  // A websocket cannot carry headers from a browser: the token goes in connection_init's
  // payload, read when the socket opens (graphql-ws opens it lazily, at the first subscription).
  connectionParams: () => ({ authorization: `Bearer ${token}` }),
});

const link = ApolloLink.split(
  ({ query }) => isSubscriptionOperation(query),
  new GraphQLWsLink(sockets),
  httpLink,
);

// Every mutation answers a union of its payload and error types (errors as data). Without
// `possibleTypes` the cache cannot tell that ValidationError implements Error, so it drops the
// fields of `... on Error { code message }` without a word: `code` is simply undefined.
const client = new ApolloClient({
  link,
  cache: new InMemoryCache({ possibleTypes: generated.possibleTypes }),
});

const SIGNUP = gql`
  mutation Signup($input: SignupInput!) {
    signup(input: $input) {
      __typename
      ... on AuthPayload { token user { id } }
      ... on Error { code message }
    }
  }
`;
const CREATE_WALLET = gql`
  mutation CreateWallet($currency: String!) {
    createWallet(input: { currency: $currency }) {
      __typename
      ... on WalletPayload { wallet { id currency { code } balance version } }
      ... on Error { code message }
    }
  }
`;
const DEPOSIT = gql`
  mutation Deposit($walletId: ID!, $amount: Decimal!, $key: String!) {
    deposit(input: { walletId: $walletId, amount: $amount, idempotencyKey: $key }) {
      __typename
      ... on PaymentPayload { replayed wallet { id balance version } }
      ... on Error { code message }
    }
  }
`;
const MY_WALLETS = gql`
  query MyWallets {
    me { wallets { id currency { code } balance version } }
  }
`;
const BALANCE_UPDATES = gql`
  subscription BalanceUpdates($walletId: ID, $afterVersion: Int) {
    balanceUpdates(walletId: $walletId, afterVersion: $afterVersion) {
      walletId balance version transaction { id kind }
    }
  }
`;

// The payload of a union answer, or an Error naming the error type and its code.
function payload(answer, typename) {
  if (answer.__typename !== typename) {
    throw new Error(`${answer.__typename}: ${answer.code} ${answer.message}`);
  }
  return answer;
}

// Resolves with the first balance update of `walletId` after `afterVersion`.
function nextUpdate(walletId, afterVersion) {
  return new Promise((resolve, reject) => {
    const subscription = client
      .subscribe({ query: BALANCE_UPDATES, variables: { walletId, afterVersion } })
      .subscribe({
        next: ({ data, error }) => {
          subscription.unsubscribe();
          if (error) reject(error);
          else resolve(data.balanceUpdates);
        },
        error: reject,
      });
  });
}

async function main() {
  const email = `apollo-${Date.now()}-${Math.random().toString(16).slice(2, 8)}@example.com`;
  const { data: signedUp } = await client.mutate({
    mutation: SIGNUP,
    variables: { input: { email, password: "a long secret", name: "Apollo Example" } },
  });
  token = payload(signedUp.signup, "AuthPayload").token;

  const { data: opened } = await client.mutate({
    mutation: CREATE_WALLET,
    variables: { currency: "USD" },
  });
  const wallet = payload(opened.createWallet, "WalletPayload").wallet;

  // Subscribe first, then deposit. `afterVersion` (the version we last saw) makes the server
  // replay any posting made before the subscription was registered: no race, no gap.
  const update = nextUpdate(wallet.id, wallet.version);
  const { data: deposited } = await client.mutate({
    mutation: DEPOSIT,
    variables: { walletId: wallet.id, amount, key: `deposit-${wallet.id}` },
  });
  payload(deposited.deposit, "PaymentPayload");
  const live = await update;

  const { data: mine } = await client.query({ query: MY_WALLETS, fetchPolicy: "network-only" });
  const balance = mine.me.wallets.find((w) => w.id === wallet.id).balance;

  // Errors as data: a bad amount answers ValidationError { code: "BAD_AMOUNT" }. The same
  // mutation through a cache without possibleTypes loses `code` and `message`.
  const bad = { walletId: wallet.id, amount: "0.001", key: `bad-${wallet.id}` };
  const { data: refused } = await client.mutate({ mutation: DEPOSIT, variables: bad });
  const blind = new ApolloClient({ link, cache: new InMemoryCache() });
  const { data: refusedBlind } = await blind.mutate({ mutation: DEPOSIT, variables: bad });

  return {
    walletId: wallet.id,
    update: live,
    balance,
    error: { typename: refused.deposit.__typename, code: refused.deposit.code ?? null },
    errorWithoutPossibleTypes: {
      typename: refusedBlind.deposit.__typename,
      code: refusedBlind.deposit.code ?? null,
    },
  };
}

let code = 0;
try {
  console.log(JSON.stringify(await main()));
} catch (error) {
  console.error(`apollo example failed: ${error?.stack ?? error}`);
  code = 1;
}
await sockets.dispose();
process.exit(code);
