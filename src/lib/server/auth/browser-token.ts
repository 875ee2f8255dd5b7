import type { Cookies } from '@sveltejs/kit';
import type { Db } from '../db';
import { badRequest } from '../errors';
import { TOKEN_COOKIE } from './api-auth';
import { authenticate, type TokenInfo } from './tokens.service';

/** What the Settings page says about the token this browser reads the API with. */
export type BrowserToken =
	| { state: 'none' }
	| { state: 'active'; token: TokenInfo }
	| { state: 'revoked'; token: TokenInfo }
	| { state: 'unknown' };

export async function browserToken(db: Db, cookies: Cookies): Promise<BrowserToken> {
	const token = cookies.get(TOKEN_COOKIE);
	if (!token) return { state: 'none' };
	const result = await authenticate(db, token);
	if (result.ok) return { state: 'active', token: result.token };
	return result.reason === 'revoked' ? { state: 'revoked', token: result.token } : { state: 'unknown' };
}

/**
 * Keeps a token in an httpOnly cookie, so that this browser's EventSource (which cannot
 * send an Authorization header) may read the API when VAPOR_READ_TOKEN_REQUIRED=1.
 * Scripts cannot read it; it is never accepted for writes.
 */
export async function useBrowserToken(db: Db, cookies: Cookies, token: string, url: URL): Promise<TokenInfo> {
	if (token === '') throw badRequest('Paste a token (vpr_…) to use it in this browser.', { token: 'Paste a token.' });
	const result = await authenticate(db, token);
	if (!result.ok) {
		const message =
			result.reason === 'revoked'
				? `The token "${result.token.name}" is revoked.`
				: 'No active token matches what you pasted.';
		throw badRequest(message, { token: message });
	}
	cookies.set(TOKEN_COOKIE, token, {
		path: '/',
		httpOnly: true,
		sameSite: 'strict',
		secure: url.protocol === 'https:',
		maxAge: 60 * 60 * 24 * 365
	});
	return result.token;
}

export function forgetBrowserToken(cookies: Cookies): void {
	cookies.delete(TOKEN_COOKIE, { path: '/' });
}
