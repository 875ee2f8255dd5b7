import type { RequestEvent } from '@sveltejs/kit';
import { errorResponse } from '../http';
import { unauthorized } from '../errors';
import { config, db } from '../vapor';
import { authenticate } from './tokens.service';
import { parseBearer } from './tokens';

/** The httpOnly cookie the Settings page sets, so that a browser's EventSource (which cannot send headers) can read. */
export const TOKEN_COOKIE = 'vapor_token';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
const HOW_TO_GET_ONE = 'Create one on the Settings page (/settings) or with `npm run token -- create NAME`.';

/**
 * The API's door: every write under /api needs `Authorization: Bearer <token>`; reads
 * need a token (header or cookie) only with VAPOR_READ_TOKEN_REQUIRED=1. Answers a 401
 * before the endpoint runs, so a refused request never reads its body or writes.
 * Form actions of the dashboard are not under /api: SvelteKit checks their origin.
 */
export async function guardApi(event: RequestEvent): Promise<Response | undefined> {
	if (!event.url.pathname.startsWith('/api/')) return undefined;
	try {
		const write = !READS.has(event.request.method);
		if (!write && !config().readTokenRequired) return undefined;

		const bearer = parseBearer(event.request.headers.get('authorization'));
		if (bearer.kind === 'malformed') {
			throw unauthorized('The Authorization header must be "Bearer <token>", with a Vapor token (vpr_…).');
		}
		// Cookies only count for reads: a write must say its token itself (no cross-site writes).
		const token = bearer.kind === 'token' ? bearer.token : write ? undefined : event.cookies.get(TOKEN_COOKIE);
		if (!token) {
			throw unauthorized(
				write
					? `Changing anything through the API needs a token: send "Authorization: Bearer vpr_…". ${HOW_TO_GET_ONE}`
					: `This server requires a token to read the API (VAPOR_READ_TOKEN_REQUIRED=1): send "Authorization: Bearer vpr_…", or use a token in this browser from the Settings page. ${HOW_TO_GET_ONE}`
			);
		}
		const result = await authenticate(db(), token);
		if (result.ok) return undefined;
		if (result.reason === 'revoked') {
			const when = result.token.revokedAt!.slice(0, 16).replace('T', ' ');
			throw unauthorized(
				`The token "${result.token.name}" (${result.token.hint}) was revoked on ${when} UTC. ${HOW_TO_GET_ONE}`
			);
		}
		throw unauthorized(
			`That token is not valid: no Vapor token matches it. Check that it was copied whole. ${HOW_TO_GET_ONE}`
		);
	} catch (error) {
		return errorResponse(error, event);
	}
}
