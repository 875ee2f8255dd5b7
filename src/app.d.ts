// See https://svelte.dev/docs/kit/types#app.d.ts
declare global {
	namespace App {
		interface Error {
			message: string;
		}
		/** adapter-node's: the request, whose socket an export ends when its client stalls. */
		interface Platform {
			req?: import('node:http').IncomingMessage;
		}
	}
}

export {};
