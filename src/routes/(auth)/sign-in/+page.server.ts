import { signInAction, signInPage } from '$lib/server/auth/pages';

export const load = signInPage;
export const actions = { default: signInAction };
