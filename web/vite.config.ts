import { defineConfig } from "vite";

// The server (`metaliverpool serve`) serves web/dist; `npm run dev` proxies the API to it.
export default defineConfig({
  base: "./",
  worker: { format: "es" },
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 4000, sourcemap: false },
  server: { proxy: { "/api": { target: "http://127.0.0.1:8000", ws: true } } },
});
