// Subscribe to walletql's balanceUpdates with the `graphql-ws` client, as a frontend app does.
//
//   node subscribe.mjs <ws-url> <walletId> <count>   (token in WALLETQL_TOKEN)
//
// Prints one JSON line per update ({"update": {...}}), exits 0 after <count> updates.
// On an error or a refused connection it prints {"error": ...} and exits 1; after
// WALLETQL_JS_TIMEOUT_MS (default 30000) without finishing it prints {"error": "timeout"}
// and exits 2, so the calling test can never hang on it.
import { createClient } from "graphql-ws";
import WebSocket from "ws"; // Node 20's global WebSocket still sits behind a flag

const [url, walletId, countText] = process.argv.slice(2);
const count = Number.parseInt(countText ?? "1", 10);
const token = process.env.WALLETQL_TOKEN ?? "";

const print = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);

setTimeout(() => {
  print({ error: "timeout" });
  process.exit(2);
}, Number(process.env.WALLETQL_JS_TIMEOUT_MS ?? 30000)).unref();

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
  retryAttempts: 0,
  on: { connected: () => print({ connected: true }) },
});

const query = `subscription($walletId: ID) {
  balanceUpdates(walletId: $walletId) { walletId balance version transaction { id kind } }
}`;

let code = 0;
try {
  let received = 0;
  for await (const result of client.iterate({ query, variables: { walletId } })) {
    if (result.errors) {
      print({ error: result.errors });
      code = 1;
      break;
    }
    print({ update: result.data.balanceUpdates });
    received += 1;
    if (received >= count) break;
  }
} catch (error) {
  // A refused connection arrives as the socket's CloseEvent.
  print({ error: { code: error?.code ?? null, reason: error?.reason ?? String(error) } });
  code = 1;
}
await client.dispose();
process.exit(code);
