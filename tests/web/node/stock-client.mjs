// The stock y-websocket provider on a Meta Liverpool room, for tests/web/test_stock_yjs_client.py.
//
// Usage: node stock-client.mjs ws://HOST:PORT/api/scenarios SCENARIO_ID TOKEN
// Prints one JSON object per line for each event: {"event": "start", "client_id"}, {"event": "status",
// "status"}, {"event": "sync", "synced"}, {"event": "connection-close", "code"}, {"event": "closed",
// "code"} (a final close), {"event": "edits", "keys"}, {"event": "presence", "client_ids"}.
// Reads one JSON command per line: {"edit": KEY, "value": OBJECT} sets edits[KEY];
// {"presence": OBJECT} sets the local awareness state; {"exit": true} disconnects and exits.
import readline from "node:readline";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";

const [serverUrl, scenarioId, token] = process.argv.slice(2);
const doc = new Y.Doc();
const provider = new WebsocketProvider(serverUrl, `${scenarioId}/live`, doc, {
  params: { token },
  WebSocketPolyfill: WebSocket,
  disableBc: true,
});
const print = (event) => process.stdout.write(`${JSON.stringify({ ...event, time_ms: Date.now() })}\n`);

print({ event: "start", client_id: doc.clientID });
provider.on("status", ({ status }) => print({ event: "status", status }));
provider.on("sync", (synced) => print({ event: "sync", synced }));
provider.on("connection-close", (event) => print({ event: "connection-close", code: event ? event.code : null }));
provider.on("closed", ({ code }) => print({ event: "closed", code }));
const edits = doc.getMap("edits");
edits.observe(() => print({ event: "edits", keys: Array.from(edits.keys()).sort() }));
provider.awareness.on("change", () => {
  const others = Array.from(provider.awareness.getStates().keys()).filter((id) => id !== doc.clientID);
  print({ event: "presence", client_ids: others });
});

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const command = JSON.parse(line);
  if (command.edit !== undefined) edits.set(command.edit, command.value);
  if (command.presence !== undefined) provider.awareness.setLocalState(command.presence);
  if (command.exit) {
    provider.destroy();
    process.exit(0);
  }
});
