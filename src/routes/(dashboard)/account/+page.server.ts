import { changePasswordAction } from '$lib/server/auth/pages';

export const load = ({ locals }) => ({ account: locals.identity.account, via: locals.identity.via });
export const actions = { default: changePasswordAction };
