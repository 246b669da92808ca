// Live collaboration: the scenario's Yjs document and presence over the server's WebSocket room.
// Speaks y-protocols sync (0) and awareness (1), plus the server's notices (100: refused edits).

import * as Y from "yjs";
import * as syncProtocol from "y-protocols/sync";
import * as awarenessProtocol from "y-protocols/awareness";
import * as encoding from "lib0/encoding";
import * as decoding from "lib0/decoding";

const MESSAGE_SYNC = 0;
const MESSAGE_AWARENESS = 1;
const MESSAGE_QUERY_AWARENESS = 3;
const MESSAGE_NOTICE = 100;

export interface Notice { type: string; messages: string[] }

export class Room {
  readonly doc = new Y.Doc();
  readonly awareness = new awarenessProtocol.Awareness(this.doc);
  readonly edits = this.doc.getMap<EditEntry>("edits");
  readonly comments = this.doc.getMap<CommentEntry>("comments");
  onNotice: (notice: Notice) => void = () => {};
  onStatus: (status: "connecting" | "online" | "offline") => void = () => {};
  synced = false;
  private socket: WebSocket | null = null;
  private closed = false;
  private retryMs = 250;

  constructor(private readonly url: string) {
    this.doc.on("update", (update: Uint8Array, origin: unknown) => {
      if (origin === this) return;
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, MESSAGE_SYNC);
      syncProtocol.writeUpdate(encoder, update);
      this.send(encoding.toUint8Array(encoder));
    });
    this.awareness.on("update", ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => {
      if (origin === this) return;
      const changed = added.concat(updated, removed);
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, MESSAGE_AWARENESS);
      encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(this.awareness, changed));
      this.send(encoding.toUint8Array(encoder));
    });
    window.addEventListener("beforeunload", () => awarenessProtocol.removeAwarenessStates(this.awareness, [this.doc.clientID], "unload"));
    this.connect();
  }

  private connect(): void {
    if (this.closed) return;
    this.onStatus("connecting");
    const socket = new WebSocket(this.url);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.onopen = () => {
      this.retryMs = 250;
      this.onStatus("online");
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, MESSAGE_SYNC);
      syncProtocol.writeSyncStep1(encoder, this.doc);
      socket.send(encoding.toUint8Array(encoder) as Uint8Array<ArrayBuffer>);
      if (this.awareness.getLocalState() !== null) {
        const aware = encoding.createEncoder();
        encoding.writeVarUint(aware, MESSAGE_AWARENESS);
        encoding.writeVarUint8Array(aware, awarenessProtocol.encodeAwarenessUpdate(this.awareness, [this.doc.clientID]));
        socket.send(encoding.toUint8Array(aware) as Uint8Array<ArrayBuffer>);
      }
    };
    socket.onmessage = (event) => this.receive(new Uint8Array(event.data as ArrayBuffer));
    socket.onclose = (event) => {
      this.socket = null;
      this.synced = false;
      this.onStatus("offline");
      const others = Array.from(this.awareness.getStates().keys()).filter((id) => id !== this.doc.clientID);
      awarenessProtocol.removeAwarenessStates(this.awareness, others, this);
      if (event.code === 4401 || event.code === 4403 || event.code === 4404) {
        this.onNotice({ type: "closed", messages: [event.reason || `closed (${event.code})`] });
        return;
      }
      setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 4000);
    };
  }

  private receive(data: Uint8Array): void {
    const decoder = decoding.createDecoder(data);
    const type = decoding.readVarUint(decoder);
    if (type === MESSAGE_SYNC) {
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, MESSAGE_SYNC);
      const kind = syncProtocol.readSyncMessage(decoder, encoder, this.doc, this);
      if (kind === syncProtocol.messageYjsSyncStep2) this.synced = true;
      if (encoding.length(encoder) > 1) this.send(encoding.toUint8Array(encoder));
    } else if (type === MESSAGE_AWARENESS) {
      awarenessProtocol.applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(decoder), this);
    } else if (type === MESSAGE_NOTICE) {
      const text = new TextDecoder().decode(decoding.readVarUint8Array(decoder));
      this.onNotice(JSON.parse(text) as Notice);
    } else if (type === MESSAGE_QUERY_AWARENESS) {
      // the server never asks; ignore
    }
  }

  private send(message: Uint8Array): void {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(message as Uint8Array<ArrayBuffer>);
  }

  setPresence(fields: Record<string, unknown>): void {
    const current = this.awareness.getLocalState() ?? {};
    this.awareness.setLocalState({ ...current, ...fields });
  }

  close(): void {
    this.closed = true;
    awarenessProtocol.removeAwarenessStates(this.awareness, [this.doc.clientID], "close");
    this.socket?.close();
    this.doc.destroy();
  }
}

export interface EditEntry { edit: Record<string, unknown>; author: string; created_at_s: number }
export interface CommentEntry {
  text: string; author: string; created_at_s: number; lon: number | null; lat: number | null;
  parent: string | null; resolved: boolean;
}

export function newId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
