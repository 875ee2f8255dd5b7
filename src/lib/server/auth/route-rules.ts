import type { Access } from './roles';

/**
 * What a request needs, decided on the route the router resolved it to (event.route.id),
 * never on the raw path: "/%61pi/…", "/API/…" or "//api/…" reach the same route id (and
 * the same rule) as "/api/…", or no route at all.
 */
export type RouteRule =
	/** No route matched: a 404, and nothing runs. */
	| { kind: 'no-route' }
	/** Open to anyone: health checks, signing in and out, the one-time setup page. */
	| { kind: 'public' }
	/**
	 * `access` needed; `api` routes take tokens and never a cookie for a write; `identity`
	 * means someone must be signed in even where anonymous reads are allowed.
	 */
	| { kind: 'guarded'; access: Access; api: boolean; identity: boolean };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const isSafeMethod = (method: string) => SAFE_METHODS.has(method.toUpperCase());

const PUBLIC_ROUTES = new Set(['/healthz', '/(auth)/sign-in', '/(auth)/setup', '/(auth)/sign-out']);

/**
 * Pages where every signed-in user may post, because the action itself checks what the
 * user may do (their own password; their own tokens, or, for admins, users and every token).
 */
const SELF_SERVICE_ROUTES = new Set(['/(dashboard)/settings', '/(dashboard)/account']);

export function routeRule(routeId: string | null, method: string): RouteRule {
	if (routeId === null) return { kind: 'no-route' };
	if (PUBLIC_ROUTES.has(routeId)) return { kind: 'public' };
	const safe = isSafeMethod(method);
	const api = routeId === '/api' || routeId.startsWith('/api/');
	if (safe) return { kind: 'guarded', access: 'read', api, identity: SELF_SERVICE_ROUTES.has(routeId) };
	if (!api && SELF_SERVICE_ROUTES.has(routeId)) return { kind: 'guarded', access: 'read', api, identity: true };
	// Every other write, on a route known today or added later, needs an editor.
	return { kind: 'guarded', access: 'write', api, identity: true };
}
