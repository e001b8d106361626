// A small live wallet: sign in, see your wallets with balances updated live (balanceUpdates
// over graphql-ws), send a transfer. Plain JavaScript, no build step: the one library is the
// graphql-ws client the server vendors for its playground. Served by `walletql serve` at
// /wallet/, next to the API at /graphql.
(function () {
  "use strict";

  const httpUrl = new URL("../graphql", window.location.href).toString();
  const wsUrl = httpUrl.replace(/^http/, "ws");
  const $ = (selector) => document.querySelector(selector);

  // The token lives in this tab only (sessionStorage): two tabs can be two users.
  let token = sessionStorage.getItem("walletql.token");
  let socket = null;
  let stopUpdates = null;
  const wallets = new Map(); // id -> {id, label, currency, decimals, balance, version}

  async function graphql(query, variables) {
    const headers = { "content-type": "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    const response = await fetch(httpUrl, {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables }),
    });
    const body = await response.json();
    if (body.errors && body.errors.length) {
      const error = body.errors[0];
      throw new Error(`${(error.extensions && error.extensions.code) || "ERROR"}: ${error.message}`);
    }
    return body.data;
  }

  function status(text) {
    $("#status").textContent = text;
  }

  function message(selector, text, isError) {
    const element = $(selector);
    element.textContent = text;
    element.classList.toggle("error", Boolean(isError));
  }

  // ---- signing in and out ----

  const LOGIN = `mutation($input: LoginInput!) { login(input: $input) {
    __typename ... on AuthPayload { token } ... on Error { code message } } }`;

  $("#sign-in").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    message("#sign-in-message", "Signing in...");
    try {
      const data = await graphql(LOGIN, {
        input: { email: form.email.value, password: form.password.value },
      });
      if (data.login.__typename !== "AuthPayload") {
        message("#sign-in-message", `${data.login.code}: ${data.login.message}`, true);
        return;
      }
      token = data.login.token;
      sessionStorage.setItem("walletql.token", token);
      form.password.value = "";
      message("#sign-in-message", "");
      await start();
    } catch (error) {
      message("#sign-in-message", String(error.message || error), true);
    }
  });

  $("#sign-out").addEventListener("click", () => {
    // The server's logout mutation would revoke the token everywhere; this page only forgets it.
    token = null;
    sessionStorage.removeItem("walletql.token");
    if (stopUpdates) stopUpdates();
    if (socket) socket.dispose();
    socket = stopUpdates = null;
    wallets.clear();
    $("#signed-in").hidden = true;
    $("#sign-in").hidden = false;
    status("Signed out");
  });

  // ---- wallets, live ----

  const ME = `query { me { id email wallets {
    id label balance version currency { code decimals } } } }`;
  const UPDATES = `subscription { balanceUpdates { walletId balance version } }`;

  async function start() {
    // Subscribe first, then read the wallets: an update that lands in between is not lost,
    // and whichever of the two is newer (by the wallet's version) wins.
    listen();
    await load();
  }

  async function load() {
    const data = await graphql(ME);
    if (!data.me) {
      // The token expired or was revoked.
      $("#sign-out").click();
      message("#sign-in-message", "Your session ended: sign in again.", true);
      return;
    }
    $("#who").textContent = data.me.email;
    $("#user-id").textContent = data.me.id;
    for (const w of data.me.wallets) {
      apply({
        id: w.id,
        label: w.label || "",
        currency: w.currency.code,
        decimals: w.currency.decimals,
        balance: w.balance,
        version: w.version,
      });
    }
    $("#sign-in").hidden = true;
    $("#signed-in").hidden = false;
    render();
  }

  function listen() {
    socket = graphqlWs.createClient({
      url: wsUrl,
      connectionParams: { Authorization: `Bearer ${token}` },
      retryAttempts: Infinity,
      shouldRetry: () => true,
      on: {
        connected: () => status("Live: balances update as money moves"),
        closed: () => status("Reconnecting..."),
      },
    });
    stopUpdates = socket.subscribe(
      { query: UPDATES },
      {
        next: ({ data, errors }) => {
          if (errors && errors.length) return status(`Updates stopped: ${errors[0].message}`);
          const update = data.balanceUpdates;
          if (!wallets.has(update.walletId)) return load(); // a wallet created elsewhere
          if (apply({ ...wallets.get(update.walletId), ...update, id: update.walletId })) {
            render(update.walletId);
          }
        },
        error: (error) => status(`Updates stopped: ${error.reason || error.message || error}`),
        complete: () => {},
      },
    );
  }

  // Keep the newest state of a wallet; true when it changed.
  function apply(wallet) {
    const known = wallets.get(wallet.id);
    if (known && known.version >= wallet.version) return false;
    wallets.set(wallet.id, wallet);
    return true;
  }

  function render(changed) {
    const rows = [];
    const options = [];
    for (const w of wallets.values()) {
      const row = document.createElement("tr");
      row.dataset.walletId = w.id;
      for (const [text, className] of [
        [w.id, ""],
        [w.label, ""],
        [w.currency, ""],
        [w.balance, "amount balance"],
      ]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        if (className) cell.className = className;
        row.appendChild(cell);
      }
      if (w.id === changed) row.classList.add("flash");
      rows.push(row);
      const option = document.createElement("option");
      option.value = w.id;
      option.textContent = `${w.label || w.id} (${w.balance} ${w.currency})`;
      options.push(option);
    }
    $("#wallets").replaceChildren(...rows);
    const from = $("#transfer").from;
    const selected = from.value;
    from.replaceChildren(...options);
    if (selected) from.value = selected;
  }

  // ---- sending money ----

  const TRANSFER = `mutation($input: TransferInput!) { transfer(input: $input) {
    __typename
    ... on PaymentPayload { replayed transaction { id amount currency { code } } }
    ... on Error { code message } } }`;

  // One key per transfer the user means: a retry after a network failure reuses it (the server
  // replays instead of moving the money twice); any answer from the server ends it.
  let idempotencyKey = null;

  function newKey() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  $("#transfer").addEventListener("input", () => {
    idempotencyKey = null; // another transfer now
  });

  $("#transfer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    idempotencyKey = idempotencyKey || newKey();
    const input = {
      fromWalletId: form.from.value,
      [form.toKind.value]: form.to.value.trim(),
      amount: form.amount.value.trim(),
      idempotencyKey,
    };
    if (form.description.value.trim()) input.description = form.description.value.trim();
    message("#transfer-message", "Sending...");
    let result;
    try {
      result = (await graphql(TRANSFER, { input })).transfer;
    } catch (error) {
      message("#transfer-message", `Not sent (${error.message}); sending again is safe.`, true);
      return;
    }
    idempotencyKey = null;
    if (result.__typename === "PaymentPayload") {
      const t = result.transaction;
      message("#transfer-message", `Sent ${t.amount} ${t.currency.code} (${t.id}).`);
      form.amount.value = "";
    } else {
      message("#transfer-message", `${result.code}: ${result.message}`, true);
    }
  });

  if (token) start();
})();
