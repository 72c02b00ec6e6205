import { defineConfig } from "vite";

/**
 * The web console's build: `vite build` writes `dist/` (index.html and hashed assets), which the
 * console gateway serves on the API's own origin. JSX is compiled by Vite's built-in transformer
 * (React's automatic runtime); no dev server is part of the product.
 */
export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  oxc: { jsx: { runtime: "automatic" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
  },
});
