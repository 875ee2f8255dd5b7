import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		adapter: adapter(),
		// The door in src/hooks.server.ts checks the origin of every unsafe request itself
		// (src/lib/server/auth/origin-check.ts): SvelteKit's check compares with event.url,
		// which adapter-node makes https://… when ORIGIN is unset, so every form failed on http.
		csrf: { trustedOrigins: ['*'] }
	}
};

export default config;
