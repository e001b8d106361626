// walletql with urql (@urql/core): queries and mutations over HTTP (fetchExchange),
// subscriptions over a websocket (subscriptionExchange forwarding to graphql-ws).
//
//   node urql.mjs [http://127.0.0.1:8000/graphql] [amount]
//
// Signs up a new customer, opens a USD wallet, subscribes to its balance, deposits `amount`
// (default 25.00), sees the update arrive live and reads the balance back. Prints a JSON
// summary; exits 0 on success, 1 on any failure.
import { Client, fetchExchange, gql, subscriptionExchange } from "@urql/core";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const url = process.argv[2] ?? "http://127.0.0.1:8000/graphql";
const amount = process.argv[3] ?? "25.00";
let token = null; // the bearer token, once signed up

const sockets = createClient({
  url: url.replace(/^http/, "ws"),
  webSocketImpl: WebSocket, // Node 20 has no global WebSocket (in a browser, omit this line)
  connectionParams: () => ({ authorization: `Bearer ${token}` }), // connection_init's payload
});

// No cacheExchange: urql's document cache would answer a repeated query from memory. (Its
// normalized Graphcache, like Apollo's cache, matches `... on Error` only by guesswork unless
// it is given the schema: pass it `schema` or the generated possibleTypes.)
const client = new Client({
  url,
  exchanges: [
    fetchExchange,
    subscriptionExchange({
      forwardSubscription: (request) => ({
        subscribe: (sink) => ({ unsubscribe: sockets.subscribe(request, sink) }),
      }),
    }),
  ],
  fetchOptions: () => ({ headers: token ? { authorization: `Bearer ${token}` } : {} }),
});

const SIGNUP = gql`
  mutation Signup($input: SignupInput!) {
    signup(input: $input) {
      __typename
      ... on AuthPayload { token }
      ... on Error { code message }
    }
  }
`;
const CREATE_WALLET = gql`
  mutation CreateWallet($currency: String!) {
    createWallet(input: { currency: $currency }) {
      __typename
      ... on WalletPayload { wallet { id balance version } }
      ... on Error { code message }
    }
  }
`;
const DEPOSIT = gql`
  mutation Deposit($walletId: ID!, $amount: Decimal!, $key: String!) {
    deposit(input: { walletId: $walletId, amount: $amount, idempotencyKey: $key }) {
      __typename
      ... on PaymentPayload { wallet { balance version } }
      ... on Error { code message }
    }
  }
`;
const WALLET = gql`
  query Wallet($id: ID!) {
    wallet(id: $id) { id balance version }
  }
`;
const BALANCE_UPDATES = gql`
  subscription BalanceUpdates($walletId: ID, $afterVersion: Int) {
    balanceUpdates(walletId: $walletId, afterVersion: $afterVersion) {
      walletId balance version transaction { id kind }
    }
  }
`;

// The data of an answer (GraphQL and network errors thrown), then the payload of its union
// (an error type thrown with its code).
function dataOf(result) {
  if (result.error) throw result.error;
  return result.data;
}
function payload(answer, typename) {
  if (answer.__typename !== typename) {
    throw new Error(`${answer.__typename}: ${answer.code} ${answer.message}`);
  }
  return answer;
}

function nextUpdate(walletId, afterVersion) {
  return new Promise((resolve, reject) => {
    const { unsubscribe } = client
      .subscription(BALANCE_UPDATES, { walletId, afterVersion })
      .subscribe((result) => {
        unsubscribe();
        if (result.error) reject(result.error);
        else resolve(result.data.balanceUpdates);
      });
  });
}

async function main() {
  const email = `urql-${Date.now()}-${Math.random().toString(16).slice(2, 8)}@example.com`;
  const input = { email, password: "a long secret", name: "urql Example" };
  const signedUp = dataOf(await client.mutation(SIGNUP, { input }).toPromise());
  token = payload(signedUp.signup, "AuthPayload").token;

  const opened = dataOf(await client.mutation(CREATE_WALLET, { currency: "USD" }).toPromise());
  const wallet = payload(opened.createWallet, "WalletPayload").wallet;

  // Subscribe, then deposit: `afterVersion` replays what the server posted before it registered
  // the subscription, so the update cannot be missed.
  const update = nextUpdate(wallet.id, wallet.version);
  const variables = { walletId: wallet.id, amount, key: `deposit-${wallet.id}` };
  payload(dataOf(await client.mutation(DEPOSIT, variables).toPromise()).deposit, "PaymentPayload");
  const live = await update;

  const read = dataOf(await client.query(WALLET, { id: wallet.id }).toPromise());
  return { walletId: wallet.id, update: live, balance: read.wallet.balance };
}

let code = 0;
try {
  console.log(JSON.stringify(await main()));
} catch (error) {
  console.error(`urql example failed: ${error?.stack ?? error}`);
  code = 1;
}
await sockets.dispose();
process.exit(code);
