import { redirect } from '@sveltejs/kit';
import { signOutAction } from '$lib/server/auth/pages';

// Signing out is a POST (a link could be followed by a crawler or a foreign page).
export const load = () => redirect(303, '/training/jobs');
export const actions = { default: signOutAction };
