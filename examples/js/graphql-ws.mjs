// walletql with no GraphQL framework: fetch for queries and mutations, the `graphql-ws` client
// on the `ws` package for subscriptions (graphql-transport-ws subprotocol).
//
//   node graphql-ws.mjs [http://127.0.0.1:8000/graphql] [amount]
//
// Signs up a new customer, opens a USD wallet, subscribes to its balance, deposits `amount`
// (default 25.00), sees the update arrive live and reads the balance back. Prints a JSON
// summary; exits 0 on success, 1 on any failure.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const url = process.argv[2] ?? "http://127.0.0.1:8000/graphql";
const amount = process.argv[3] ?? "25.00";

let token = null; // the bearer token, once signed up
const sockets = createClient({
  url: url.replace(/^http/, "ws"),
  // Node 20 has no global WebSocket (Node 22 and browsers do): without this line graphql-ws
  // throws "WebSocket implementation missing".
  webSocketImpl: WebSocket,
  // The token travels in connection_init's payload, read when the socket opens (lazily, at the
  // first subscription). A bad or missing token closes the socket with 4403.
  connectionParams: () => ({ authorization: `Bearer ${token}` }),
});

// GraphQL over HTTP: a POST of {query, variables}; the token as a bearer header. A GraphQL error
// (a query's failure, e.g. UNAUTHENTICATED) is thrown; a mutation's errors come back as data.
async function post(query, variables = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

function payload(answer, typename) {
  if (answer.__typename !== typename) {
    throw new Error(`${answer.__typename}: ${answer.code} ${answer.message}`);
  }
  return answer;
}

const SIGNUP = `mutation($input: SignupInput!) { signup(input: $input) {
  __typename ... on AuthPayload { token } ... on Error { code message } } }`;
const CREATE_WALLET = `mutation { createWallet(input: { currency: "USD" }) {
  __typename ... on WalletPayload { wallet { id balance version } } ... on Error { code message } } }`;
const DEPOSIT = `mutation($walletId: ID!, $amount: Decimal!, $key: String!) {
  deposit(input: { walletId: $walletId, amount: $amount, idempotencyKey: $key }) {
    __typename ... on PaymentPayload { wallet { balance version } } ... on Error { code message } } }`;
const WALLET = `query($id: ID!) { wallet(id: $id) { id balance version } }`;
const BALANCE_UPDATES = `subscription($walletId: ID, $afterVersion: Int) {
  balanceUpdates(walletId: $walletId, afterVersion: $afterVersion) {
    walletId balance version transaction { id kind } } }`;

async function main() {
  const email = `ws-${Date.now()}-${Math.random().toString(16).slice(2, 8)}@example.com`;
  const input = { email, password: "a long secret", name: "graphql-ws Example" };
  token = payload((await post(SIGNUP, { input })).signup, "AuthPayload").token;

  const opened = await post(CREATE_WALLET);
  const wallet = payload(opened.createWallet, "WalletPayload").wallet;

  // iterate() sends `subscribe` as soon as the socket is acknowledged; `afterVersion` replays
  // whatever is posted before the server registers it, so depositing right away is safe.
  const updates = sockets.iterate({
    query: BALANCE_UPDATES,
    variables: { walletId: wallet.id, afterVersion: wallet.version },
  });
  const first = updates.next();
  const variables = { walletId: wallet.id, amount, key: `deposit-${wallet.id}` };
  payload((await post(DEPOSIT, variables)).deposit, "PaymentPayload");
  const { value } = await first;
  await updates.return(); // sends `complete`: the server ends this subscription
  if (value.errors) throw new Error(JSON.stringify(value.errors));

  const read = await post(WALLET, { id: wallet.id });
  return { walletId: wallet.id, update: value.data.balanceUpdates, balance: read.wallet.balance };
}

let code = 0;
try {
  console.log(JSON.stringify(await main()));
} catch (error) {
  console.error(`graphql-ws example failed: ${error?.stack ?? JSON.stringify(error)}`);
  code = 1;
}
await sockets.dispose();
process.exit(code);
