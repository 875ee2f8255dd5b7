import { error as kitError, redirect, type Cookies, type RequestEvent } from '@sveltejs/kit';
import { dev } from '$app/environment';
import type { VaporConfig } from '../config';
import { DATABASE_AWAY, HttpError, isDatabaseUnavailable, unauthorized } from '../errors';
import { errorResponse } from '../http';
import { log } from '../log';
import { config, db } from '../vapor';
import { proxyAccount, sessionAccount, type Account } from './accounts';
import { crossSiteRefusal } from './origin-check';
import { allows, roleAccess, type Access } from './roles';
import { isSafeMethod, routeRule } from './route-rules';
import { authenticate } from './tokens.service';
import { parseBearer } from './tokens';

/** Who is asking, as the door found out. */
export interface Identity {
	/** The user: signed in, named by the proxy, or the owner of the token. */
	account: Account | undefined;
	access: Access | 'none';
	via: 'session' | 'token' | 'proxy' | 'open' | 'none';
	/** The session cookie's value, for signing out and changing the password. */
	sessionId?: string;
	/** The token the request was sent with. */
	tokenId?: string;
}

const NOBODY: Identity = { account: undefined, access: 'none', via: 'none' };
const HOW_TO_GET_A_TOKEN = 'Create one on the Settings page (/settings) or with `npm run token -- create NAME`.';

/**
 * The one door: every request is judged on the route the router resolved it to
 * (event.route.id, see route-rules.ts), then on who sends it. Returns the refusal,
 * or undefined to let the request through with `event.locals.identity` set.
 */
export async function door(event: RequestEvent): Promise<Response | undefined> {
	const { request } = event;
	const method = request.method.toUpperCase();
	const rule = routeRule(event.route.id, method);
	const api = rule.kind === 'guarded' ? rule.api : event.url.pathname.toLowerCase().includes('api');
	try {
		event.locals.identity = NOBODY;
		if (rule.kind === 'no-route') {
			// A read gets SvelteKit's own 404 page; an unsafe method never reaches anything.
			if (isSafeMethod(method)) return undefined;
			throw new HttpError(404, `Nothing answers ${method} ${event.url.pathname.slice(0, 200)} on this server.`);
		}
		const cfg = config();
		const refusal = crossSiteRefusal({
			method,
			origin: request.headers.get('origin'),
			host: request.headers.get('host'),
			configuredOrigin: process.env.ORIGIN?.trim() || undefined,
			cookieBased: !request.headers.has('authorization') && event.cookies.get(cfg.sessionCookie) !== undefined
		});
		if (refusal) {
			log.warn('refused a cross-site request', {
				method,
				route: event.route.id,
				origin: request.headers.get('origin')
			});
			throw new HttpError(403, refusal);
		}

		const identity = await identify(event, cfg, rule.kind === 'guarded' && rule.api);
		event.locals.identity = identity;
		if (rule.kind === 'public') return undefined;

		const safe = isSafeMethod(method);
		if (rule.api && !safe && identity.via === 'session') {
			throw unauthorized(
				`A signed-in browser cannot change anything through the API: send "Authorization: Bearer vpr_…". ${HOW_TO_GET_A_TOKEN}`
			);
		}
		if (!rule.api && !safe && identity.via === 'token') {
			throw new HttpError(403, 'Pages take no tokens for changes: use the API with the token, or sign in.');
		}
		const anonymousRead = safe && !rule.identity && cfg.publicRead && identity.access === 'none';
		if (anonymousRead) return undefined;
		if (identity.access !== 'none' && allows(identity.access, rule.access)) return undefined;

		// With VAPOR_AUTH=off an API write still needs a token: a 401 that says so, not a 403.
		if (identity.access === 'none' || (identity.via === 'open' && rule.api)) {
			if (rule.api) {
				throw unauthorized(
					safe
						? `Reading needs a token or a signed-in browser: send "Authorization: Bearer vpr_…". ${HOW_TO_GET_A_TOKEN}`
						: `Changing anything through the API needs a token: send "Authorization: Bearer vpr_…". ${HOW_TO_GET_A_TOKEN}`
				);
			}
			if (safe) redirect(303, `/sign-in?next=${encodeURIComponent(nextPath(event.url))}`);
			throw new HttpError(401, 'You are signed out: sign in again, then repeat what you did.');
		}
		throw new HttpError(403, forbiddenMessage(identity, rule.access));
	} catch (thrown) {
		let caught = thrown;
		if (isDatabaseUnavailable(caught)) {
			if (api) return errorResponse(caught, event);
			log.warn('database unavailable at the door', { method, path: event.url.pathname, error: caught });
			caught = new HttpError(503, DATABASE_AWAY);
		}
		if (!(caught instanceof HttpError)) throw caught;
		if (api || rule.kind === 'no-route') return errorResponse(caught, event);
		kitError(caught.status, caught.message);
	}
}

function forbiddenMessage(identity: Identity, needed: Access): string {
	const who = identity.account ? `${identity.account.username} (${identity.account.role})` : 'this token';
	if (identity.via === 'token' && needed === 'write')
		return 'This token may only read: its scope is read, or its owner is a viewer.';
	return needed === 'admin'
		? `Only an admin may do this; ${who} may not.`
		: `Only an editor or an admin may change things; ${who} may only read.`;
}

/** The page to come back to after signing in: this server's own path only. */
function nextPath(url: URL): string {
	const path = url.pathname.replace(/\/__data\.json$/, '') || '/';
	return path.startsWith('/') && !path.startsWith('//')
		? path + url.search.replace(/[?&]x-sveltekit-invalidated=[^&]*/, '')
		: '/';
}

async function identify(event: RequestEvent, cfg: VaporConfig, api: boolean): Promise<Identity> {
	const bearer = parseBearer(event.request.headers.get('authorization'));
	if (bearer.kind === 'malformed')
		throw unauthorized('The Authorization header must be "Bearer <token>", with a Vapor token (vpr_…).');
	if (bearer.kind === 'token') {
		const result = await authenticate(db(), bearer.token);
		if (result.ok) {
			const account: Account | undefined = result.owner
				? { ...result.owner, createdAt: '', hasPassword: true }
				: undefined;
			return {
				account,
				access: result.access,
				via: 'token',
				tokenId: result.token.id
			};
		}
		if (result.reason === 'revoked') {
			const when = result.token.revokedAt!.slice(0, 16).replace('T', ' ');
			throw unauthorized(
				`The token "${result.token.name}" (${result.token.hint}) was revoked on ${when} UTC. ${HOW_TO_GET_A_TOKEN}`
			);
		}
		throw unauthorized(
			`That token is not valid: no Vapor token matches it. Check that it was copied whole. ${HOW_TO_GET_A_TOKEN}`
		);
	}
	if (cfg.authMode === 'off') return { account: undefined, access: api ? 'read' : 'admin', via: 'open' };
	if (cfg.authMode === 'proxy') return proxyIdentity(event, cfg);
	const sessionId = event.cookies.get(cfg.sessionCookie);
	if (!sessionId) return NOBODY;
	const account = await sessionAccount(db(), sessionId);
	if (!account) {
		event.cookies.delete(cfg.sessionCookie, { path: '/' });
		return NOBODY;
	}
	return { account, access: roleAccess(account.role), via: 'session', sessionId };
}

const normalizeAddress = (address: string) => address.replace(/^::ffff:/i, '');

async function proxyIdentity(event: RequestEvent, cfg: VaporConfig): Promise<Identity> {
	const proxy = cfg.proxy!;
	const name = event.request.headers.get(proxy.header)?.trim();
	if (!name) return NOBODY;
	const address = normalizeAddress(event.getClientAddress());
	if (!proxy.trusted.map(normalizeAddress).includes(address)) {
		log.warn('ignored a proxy user header from an address not in VAPOR_TRUSTED_PROXIES', { address });
		return NOBODY;
	}
	const account = await proxyAccount(db(), name.slice(0, 64), proxy.role);
	return { account, access: roleAccess(account.role), via: 'proxy' };
}

/** Whether the browser reached us over https (adapter-node alone cannot know without ORIGIN or PROTOCOL_HEADER). */
export function reachedOverHttps(event: RequestEvent): boolean {
	const origin = process.env.ORIGIN?.trim();
	if (origin) return origin.startsWith('https:');
	if (dev || process.env.PROTOCOL_HEADER?.trim()) return event.url.protocol === 'https:';
	return false;
}

export function setSessionCookie(event: RequestEvent, session: { id: string; expires: Date }): void {
	event.cookies.set(config().sessionCookie, session.id, {
		path: '/',
		httpOnly: true,
		sameSite: 'lax',
		secure: reachedOverHttps(event),
		expires: session.expires
	});
}

export function clearSessionCookie(cookies: Cookies): void {
	cookies.delete(config().sessionCookie, { path: '/' });
}

/** The address the audit log records for a request. */
export function clientAddress(event: RequestEvent): string {
	try {
		return normalizeAddress(event.getClientAddress());
	} catch {
		return 'unknown';
	}
}
