import { isSafeMethod } from './route-rules';

export interface OriginFacts {
	method: string;
	/** The Origin header, or null. */
	origin: string | null;
	/** The Host header the request arrived with. */
	host: string | null;
	/** ORIGIN when the deployment sets it (adapter-node's setting); then only it matches. */
	configuredOrigin: string | undefined;
	/** The request relies on a cookie (no Authorization header): a browser may have sent it for another site. */
	cookieBased: boolean;
}

/**
 * Cross-site request check, in place of SvelteKit's checkOrigin (which compares with
 * event.url.origin, and that is https://… on adapter-node without ORIGIN, so every form
 * on plain http failed). An unsafe request must come from our own origin: ORIGIN when set,
 * else the Host it was sent to (any scheme: a foreign page cannot make a browser send our
 * host as its Origin). Covers form posts, bodiless POSTs and fetch() from foreign pages.
 * Returns the reason for a refusal, or undefined.
 */
export function crossSiteRefusal(facts: OriginFacts): string | undefined {
	if (isSafeMethod(facts.method)) return undefined;
	if (facts.origin === null) {
		// Browsers send Origin with every POST; a request without one is a script's, and a
		// script must say who it is with a token, not ride on a cookie.
		return facts.cookieBased
			? 'This request has no Origin header, so it cannot be told from a cross-site one. Use the page, or an API token.'
			: undefined;
	}
	if (originMatches(facts.origin, facts.host, facts.configuredOrigin)) return undefined;
	return `Cross-site request refused: it comes from ${facts.origin.slice(0, 100)}, not from this server.`;
}

function originMatches(origin: string, host: string | null, configured: string | undefined): boolean {
	let parsed: URL;
	try {
		parsed = new URL(origin);
	} catch {
		return false;
	}
	if (parsed.origin === 'null') return false;
	if (configured) return parsed.origin === new URL(configured).origin;
	return host !== null && parsed.host.toLowerCase() === host.toLowerCase() && /^https?:$/.test(parsed.protocol);
}
