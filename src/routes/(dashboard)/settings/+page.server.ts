import { fail } from '@sveltejs/kit';
import { browserToken, forgetBrowserToken, useBrowserToken } from '$lib/server/auth/browser-token';
import { HttpError } from '$lib/server/errors';
import { createToken, listTokens, revokeToken } from '$lib/server/auth/tokens.service';
import { config, db } from '$lib/server/vapor';
import type { Actions } from './$types';

export async function load({ cookies }) {
	return {
		tokens: await listTokens(db()),
		readTokenRequired: config().readTokenRequired,
		browser: await browserToken(db(), cookies)
	};
}

/** A refusal (400, 404, 409) comes back to the form as a message. */
async function attempt<T>(form: string, operation: () => Promise<T>) {
	try {
		return { value: await operation() };
	} catch (error) {
		if (error instanceof HttpError) return { failure: fail(error.status, { form, error: error.message }) };
		throw error;
	}
}

export const actions: Actions = {
	create: async ({ request }) => {
		const name = String((await request.formData()).get('name') ?? '');
		const result = await attempt('create', () => createToken(db(), name));
		if (result.failure) return fail(result.failure.status, { ...result.failure.data, name });
		// The only time the token exists in clear: this answer.
		return { form: 'create', created: { token: result.value!.token, name: result.value!.info.name } };
	},
	revoke: async ({ request }) => {
		const id = String((await request.formData()).get('id') ?? '');
		const result = await attempt('revoke', () => revokeToken(db(), id));
		return result.failure ?? { form: 'revoke', revoked: result.value!.name };
	},
	use: async ({ request, cookies, url }) => {
		const token = String((await request.formData()).get('token') ?? '').trim();
		const result = await attempt('use', () => useBrowserToken(db(), cookies, token, url));
		return result.failure ?? { form: 'use', using: result.value!.name };
	},
	forget: async ({ cookies }) => {
		forgetBrowserToken(cookies);
		return { form: 'forget' };
	}
};
