import { fail, type RequestEvent } from '@sveltejs/kit';
import { HttpError } from '../errors';
import { config, db } from '../vapor';
import { createAccount, deleteAccount, listAccounts, resetPassword, setRole } from './accounts';
import { listAudit, type Actor } from './audit';
import { clientAddress, type Identity } from './door';
import { allows } from './roles';
import { createToken, listTokens, revokeToken, type TokenMaker } from './tokens.service';

const field = (form: FormData, name: string) => String(form.get(name) ?? '');
const isAdmin = (identity: Identity) => identity.access !== 'none' && allows(identity.access, 'admin');

function actorOf(event: RequestEvent): Actor {
	const { account } = event.locals.identity;
	return {
		userId: account?.id,
		name: account?.username ?? 'anyone (VAPOR_AUTH=off)',
		address: clientAddress(event)
	};
}

/** Admins see every token, the users and the audit log; others see their own tokens. */
export async function settingsPage(event: RequestEvent) {
	const identity = event.locals.identity;
	const admin = isAdmin(identity);
	return {
		tokens: await listTokens(
			db(),
			admin ? undefined : (identity.account?.id ?? '00000000-0000-0000-0000-000000000000')
		),
		users: admin && config().authMode !== 'off' ? await listAccounts(db()) : undefined,
		audit: admin ? await listAudit(db()) : undefined,
		me: identity.account?.id
	};
}

/** A refusal (400, 403, 404, 409) comes back to the form as a message. */
async function attempt<F extends string, T extends object>(
	form: F,
	operation: () => Promise<T>,
	keep: Record<string, string> = {}
) {
	try {
		return { form, ...(await operation()) };
	} catch (error) {
		if (error instanceof HttpError) return fail(error.status, { form, error: error.message, ...keep });
		throw error;
	}
}

function requireAdmin(event: RequestEvent) {
	if (!isAdmin(event.locals.identity)) throw new HttpError(403, 'Only an admin may manage users.');
}

export const settingsActions = {
	create: async (event: RequestEvent) => {
		const form = await event.request.formData();
		const name = field(form, 'name');
		const { account } = event.locals.identity;
		const maker: TokenMaker = {
			actor: actorOf(event),
			owner: account ? { id: account.id, role: account.role } : undefined
		};
		return attempt(
			'create',
			async () => {
				const { token, info } = await createToken(db(), name, { maker, scope: field(form, 'scope') || 'write' });
				// The only time the token exists in clear: this answer.
				return { created: { token, name: info.name, scope: info.scope } };
			},
			{ name }
		);
	},
	revoke: async (event: RequestEvent) => {
		const id = field(await event.request.formData(), 'id');
		const identity = event.locals.identity;
		const ownerId = isAdmin(identity) ? undefined : (identity.account?.id ?? '');
		return attempt('revoke', async () => ({
			revoked: (await revokeToken(db(), id, { actor: actorOf(event), ownerId })).name
		}));
	},
	addUser: async (event: RequestEvent) => {
		const form = await event.request.formData();
		const username = field(form, 'username');
		return attempt(
			'addUser',
			async () => {
				requireAdmin(event);
				const user = await createAccount(db(), username, field(form, 'role'), field(form, 'password'));
				return { added: user.username };
			},
			{ username }
		);
	},
	setRole: async (event: RequestEvent) => {
		const form = await event.request.formData();
		return attempt('users', async () => {
			requireAdmin(event);
			const user = await setRole(db(), field(form, 'id'), field(form, 'role'));
			return { done: `${user.username} is now ${user.role === 'admin' ? 'an' : 'a'} ${user.role}.` };
		});
	},
	resetPassword: async (event: RequestEvent) => {
		const form = await event.request.formData();
		return attempt('users', async () => {
			requireAdmin(event);
			const user = await resetPassword(db(), field(form, 'id'), field(form, 'password'));
			return { done: `New password set for ${user.username}; their sessions ended.` };
		});
	},
	deleteUser: async (event: RequestEvent) => {
		const form = await event.request.formData();
		return attempt('users', async () => {
			requireAdmin(event);
			if (field(form, 'id') === event.locals.identity.account?.id)
				throw new HttpError(409, 'You cannot delete yourself; another admin can.');
			const user = await deleteAccount(db(), field(form, 'id'));
			return { done: `Deleted ${user.username}, with their sessions and tokens.` };
		});
	}
};
