import { fail, redirect, type RequestEvent } from '@sveltejs/kit';
import { HttpError } from '../errors';
import type { FieldErrors } from '../../training/job-input';
import { config, consumeSetupCode, db, setupCode } from '../vapor';
import {
	changePassword,
	checkCredentials,
	createFirstAdmin,
	endSession,
	hasUsers,
	startSession,
	TooManyAttempts
} from './accounts';
import { clearSessionCookie, clientAddress, setSessionCookie } from './door';

const field = (form: FormData, name: string) => String(form.get(name) ?? '');

/** Where to go after signing in: a path on this server, never another site. */
export function safeNext(value: string | null | undefined): string {
	if (!value || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return '/training/jobs';
	return value;
}

/** A new session for the user, and the old one (if any) ended: the id changes at every sign-in. */
async function signInAs(event: RequestEvent, userId: string) {
	const previous = event.locals.identity.sessionId;
	if (previous) await endSession(db(), previous);
	setSessionCookie(event, await startSession(db(), userId));
}

export async function signInPage(event: RequestEvent) {
	if (config().authMode !== 'on') redirect(303, '/training/jobs');
	const next = safeNext(event.url.searchParams.get('next'));
	if (event.locals.identity.via === 'session') redirect(303, next);
	return { next, noUsers: !(await hasUsers(db())) };
}

export async function signInAction(event: RequestEvent) {
	if (config().authMode !== 'on')
		return fail(400, { username: '', error: 'Signing in is off on this server (VAPOR_AUTH).' });
	const form = await event.request.formData();
	const username = field(form, 'username');
	try {
		const account = await checkCredentials(db(), username, field(form, 'password'), clientAddress(event));
		await signInAs(event, account.id);
	} catch (error) {
		if (error instanceof TooManyAttempts)
			event.setHeaders({ 'retry-after': String(Math.ceil(error.retryAfterMs / 1000)) });
		if (error instanceof HttpError) return fail(error.status, { username, error: error.message });
		throw error;
	}
	redirect(303, safeNext(field(form, 'next')));
}

export async function signOutAction(event: RequestEvent) {
	const sessionId = event.locals.identity.sessionId;
	if (sessionId) await endSession(db(), sessionId);
	clearSessionCookie(event.cookies);
	redirect(303, '/sign-in');
}

/** The setup page opens only with the code the server printed, and only while no user exists. */
export async function setupPage(event: RequestEvent) {
	if (await hasUsers(db())) return { state: 'done' as const };
	const code = event.url.searchParams.get('code') ?? '';
	const expected = setupCode();
	if (!expected || code !== expected) return { state: 'bad-code' as const };
	return { state: 'ready' as const, code };
}

export async function setupAction(event: RequestEvent) {
	const form = await event.request.formData();
	const username = field(form, 'username');
	const expected = setupCode();
	if (!expected || field(form, 'code') !== expected)
		return fail(403, {
			username,
			error: 'This setup link is not valid: open the link the server printed.',
			fields: undefined as FieldErrors | undefined
		});
	const password = field(form, 'password');
	if (password !== field(form, 'confirm'))
		return fail(400, {
			username,
			error: 'The two passwords differ.',
			fields: { confirm: 'The two passwords differ.' }
		});
	try {
		const admin = await createFirstAdmin(db(), username, password);
		consumeSetupCode();
		await signInAs(event, admin.id);
	} catch (error) {
		if (error instanceof HttpError) return fail(error.status, { username, error: error.message, fields: error.fields });
		throw error;
	}
	redirect(303, '/training/jobs');
}

export async function changePasswordAction(event: RequestEvent) {
	const { account, sessionId } = event.locals.identity;
	if (!account || !sessionId)
		return fail(400, {
			error: 'Only a signed-in user with a password can change it.',
			fields: undefined as FieldErrors | undefined
		});
	const form = await event.request.formData();
	const next = field(form, 'password');
	if (next !== field(form, 'confirm'))
		return fail(400, { error: 'The two new passwords differ.', fields: { confirm: 'The two new passwords differ.' } });
	try {
		// Ends every session of the user, on every device; this browser gets a new one.
		await changePassword(db(), account.id, field(form, 'current'), next);
		setSessionCookie(event, await startSession(db(), account.id));
	} catch (error) {
		if (error instanceof HttpError) return fail(error.status, { error: error.message, fields: error.fields });
		throw error;
	}
	return { changed: true };
}
