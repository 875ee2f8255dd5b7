import { describe, expect, it } from 'vitest';
import { crossSiteRefusal } from './origin-check';
import { routeRule } from './route-rules';
import { allows, tokenAccess } from './roles';

describe('routeRule', () => {
	it('refuses what resolves to no route', () => {
		expect(routeRule(null, 'POST')).toEqual({ kind: 'no-route' });
		expect(routeRule(null, 'GET')).toEqual({ kind: 'no-route' });
	});

	it('opens only health, sign-in, sign-out and setup', () => {
		for (const id of ['/healthz', '/(auth)/sign-in', '/(auth)/setup', '/(auth)/sign-out'])
			expect(routeRule(id, 'POST')).toEqual({ kind: 'public' });
	});

	it('needs an editor for every API and page write, known today or added later', () => {
		for (const id of ['/api/training/jobs', '/api/training/jobs/[id]/start', '/api/some/new/route'])
			expect(routeRule(id, 'POST')).toEqual({ kind: 'guarded', access: 'write', api: true, identity: true });
		for (const id of ['/(dashboard)/training/jobs/new', '/(dashboard)/training/jobs/[id]', '/(dashboard)/new'])
			expect(routeRule(id, 'POST')).toEqual({ kind: 'guarded', access: 'write', api: false, identity: true });
		expect(routeRule('/api/training/jobs', 'DELETE')).toMatchObject({ access: 'write' });
		expect(routeRule('/api/training/jobs', 'patch')).toMatchObject({ access: 'write' });
	});

	it("treats the MLflow drop-in as API: its GET calls are reads, everything else an editor's write", () => {
		for (const id of ['/api/2.0/mlflow/runs/get', '/api/2.0/mlflow/metrics/get-history', '/api/2.0/mlflow/[...rest]'])
			expect(routeRule(id, 'GET')).toEqual({ kind: 'guarded', access: 'read', api: true, identity: false });
		for (const id of ['/api/2.0/mlflow/runs/log-batch', '/api/2.0/mlflow-artifacts/[...rest]'])
			expect(routeRule(id, 'POST')).toEqual({ kind: 'guarded', access: 'write', api: true, identity: true });
		expect(routeRule('/api/2.0/mlflow-artifacts/[...rest]', 'PUT')).toMatchObject({ access: 'write', api: true });
	});

	it('lets readers read, and any signed-in user post to Settings and Account', () => {
		expect(routeRule('/api/training/jobs/[id]/stream', 'HEAD')).toEqual({
			kind: 'guarded',
			access: 'read',
			api: true,
			identity: false
		});
		expect(routeRule('/(dashboard)/training/jobs', 'GET')).toMatchObject({ access: 'read', identity: false });
		expect(routeRule('/(dashboard)/settings', 'POST')).toMatchObject({ access: 'read', identity: true });
		expect(routeRule('/(dashboard)/account', 'GET')).toMatchObject({ access: 'read', identity: true });
	});
});

describe('tokenAccess', () => {
	it('is the lesser of the scope and the owner role', () => {
		expect(tokenAccess('write', 'editor')).toBe('write');
		expect(tokenAccess('write', 'admin')).toBe('write');
		expect(tokenAccess('write', 'viewer')).toBe('read');
		expect(tokenAccess('read', 'admin')).toBe('read');
		expect(tokenAccess('write', undefined)).toBe('write');
		expect(allows('read', 'write')).toBe(false);
		expect(allows('admin', 'write')).toBe(true);
	});
});

describe('crossSiteRefusal', () => {
	const base = { method: 'POST', host: '127.0.0.1:3000', configuredOrigin: undefined, cookieBased: true };

	it('accepts the origin of the host the request was sent to, on http, at any address', () => {
		expect(crossSiteRefusal({ ...base, origin: 'http://127.0.0.1:3000' })).toBeUndefined();
		expect(crossSiteRefusal({ ...base, host: 'localhost:3000', origin: 'http://localhost:3000' })).toBeUndefined();
		expect(crossSiteRefusal({ ...base, host: '192.168.1.20:3000', origin: 'http://192.168.1.20:3000' })).toBe(
			undefined
		);
	});

	it('refuses foreign pages, null origins and other ports, for forms and bodiless posts alike', () => {
		expect(crossSiteRefusal({ ...base, origin: 'http://evil.example' })).toMatch(/Cross-site/);
		expect(crossSiteRefusal({ ...base, origin: 'null' })).toMatch(/Cross-site/);
		expect(crossSiteRefusal({ ...base, origin: 'http://127.0.0.1:3001' })).toMatch(/Cross-site/);
		expect(crossSiteRefusal({ ...base, origin: 'http://evil.example', cookieBased: false })).toMatch(/Cross-site/);
	});

	it('with ORIGIN set, accepts only it', () => {
		const configured = { ...base, configuredOrigin: 'https://vapor.example.com' };
		expect(crossSiteRefusal({ ...configured, origin: 'https://vapor.example.com' })).toBeUndefined();
		expect(crossSiteRefusal({ ...configured, origin: 'http://127.0.0.1:3000' })).toMatch(/Cross-site/);
	});

	it('refuses a cookie-only write without Origin, but not a script with a token, nor a read', () => {
		expect(crossSiteRefusal({ ...base, origin: null })).toMatch(/no Origin/);
		expect(crossSiteRefusal({ ...base, origin: null, cookieBased: false })).toBeUndefined();
		expect(crossSiteRefusal({ ...base, method: 'GET', origin: 'http://evil.example' })).toBeUndefined();
	});
});
