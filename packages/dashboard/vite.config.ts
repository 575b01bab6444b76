import { defineConfig } from 'vite';

// The page is served by the control plane under /ui/ with a strict CSP: no inline scripts or
// styles, no module preload polyfill (it is inline), everything from the same origin.
export default defineConfig({
  base: '/ui/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
