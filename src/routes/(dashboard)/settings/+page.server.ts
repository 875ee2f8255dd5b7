import { settingsActions, settingsPage } from '$lib/server/auth/settings';

export const load = settingsPage;
export const actions = settingsActions;
