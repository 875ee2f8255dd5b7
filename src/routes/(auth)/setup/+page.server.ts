import { setupAction, setupPage } from '$lib/server/auth/pages';

export const load = setupPage;
export const actions = { default: setupAction };
