/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// During `npm run dev`, /v1 is proxied to the gateway (default http://127.0.0.1:8080).
const gateway = process.env.WITNESS_GATEWAY ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  // Relative asset paths: the gateway serves dist/ at `/`, but this also works under a prefix.
  base: './',
  build: {
    outDir: 'dist',
    sourcemap: false,
    chunkSizeWarningLimit: 900,
  },
  server: {
    proxy: { '/v1': { target: gateway, changeOrigin: true } },
  },
  preview: {
    proxy: { '/v1': { target: gateway, changeOrigin: true } },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
