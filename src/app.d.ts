// See https://svelte.dev/docs/kit/types#app.d.ts
import type { Identity } from '$lib/server/auth/door';

declare global {
	namespace App {
		interface Error {
			message: string;
			/** The page failed because the database is away (answered 503). */
			databaseAway?: boolean;
		}
		interface Locals {
			/** Set by the door in hooks.server.ts for every request. */
			identity: Identity;
			/** handleError saw the database away; the answer becomes a 503. */
			databaseAway?: boolean;
		}
		/** adapter-node's: the request, whose socket an export ends when its client stalls. */
		interface Platform {
			req?: import('node:http').IncomingMessage;
		}
	}
}

export {};
