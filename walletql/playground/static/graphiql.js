// The playground: GraphiQL on this server's /graphql. Queries and mutations go over HTTP with
// the headers typed in GraphiQL's "Headers" tab; subscriptions go over a websocket
// (graphql-transport-ws, the vendored graphql-ws client) to the same path, with the
// Authorization header sent as the connection's payload, which is where walletql reads it.
(function () {
  "use strict";

  const httpUrl = window.location.origin + window.location.pathname;
  const wsUrl = httpUrl.replace(/^http/, "ws");

  const DEFAULT_QUERY = `# walletql playground. Sign in first (signup or login answer a token), then put
#   {"Authorization": "Bearer <token>"}
# (or an API key: "Bearer wqk_...") in the Headers tab below. Run with Ctrl-Enter.
# Subscriptions (balanceUpdates) run over a websocket with the same header.

query Me {
  me {
    id
    email
    wallets { id label currency { code } balance version }
  }
}
`;

  // One websocket per distinct Authorization value: walletql authenticates a socket once, at
  // connection_init, so another header needs another socket.
  const sockets = new Map();

  function authorization(headers) {
    for (const name of Object.keys(headers || {})) {
      if (name.toLowerCase() === "authorization") return String(headers[name]);
    }
    return "";
  }

  function socketFor(headers) {
    const auth = authorization(headers);
    if (!sockets.has(auth)) {
      sockets.set(
        auth,
        graphqlWs.createClient({
          url: wsUrl,
          connectionParams: auth ? { Authorization: auth } : {},
          lazy: true,
          retryAttempts: 0,
        }),
      );
    }
    return sockets.get(auth);
  }

  // The operation GraphiQL is about to run: the named one, or the only one.
  function isSubscription(params, documentAST) {
    if (!documentAST) return /^\s*subscription\b/m.test(params.query || "");
    const operations = documentAST.definitions.filter((d) => d.kind === "OperationDefinition");
    const chosen = params.operationName
      ? operations.find((d) => d.name && d.name.value === params.operationName)
      : operations.length === 1 && operations[0];
    return Boolean(chosen) && chosen.operation === "subscription";
  }

  async function overHttp(params, headers) {
    const response = await fetch(httpUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", ...headers },
      body: JSON.stringify(params),
    });
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch (_) {
      return { errors: [{ message: `HTTP ${response.status}: ${text}` }] };
    }
  }

  function fetcher(params, options) {
    const headers = (options && options.headers) || {};
    if (isSubscription(params, options && options.documentAST)) {
      return socketFor(headers).iterate(params); // an async iterable: GraphiQL shows each result
    }
    return overHttp(params, headers);
  }

  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: DEFAULT_QUERY,
      defaultHeaders: '{\n  "Authorization": "Bearer <token>"\n}',
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      // Tokens stay out of localStorage unless the user turns "persist headers" on.
      shouldPersistHeaders: false,
    }),
  );
})();
