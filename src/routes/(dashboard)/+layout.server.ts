import { viewerOf } from '$lib/server/auth/viewer';

export const load = ({ locals }) => ({ viewer: viewerOf(locals.identity) });
