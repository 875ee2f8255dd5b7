import { config } from '../vapor';
import type { Identity } from './door';
import { allows } from './roles';

/** What the pages may know about who looks at them: enough to show or hide controls. */
export interface Viewer {
	username: string | undefined;
	role: string | undefined;
	/** May press Start, Stop, Run again and create jobs. */
	canWrite: boolean;
	isAdmin: boolean;
	/** Signed in with a password here (can sign out and change it). */
	hasSession: boolean;
	mode: 'on' | 'off' | 'proxy';
}

export function viewerOf(identity: Identity): Viewer {
	const granted = identity.access === 'none' ? undefined : identity.access;
	return {
		username: identity.account?.username,
		role: identity.account?.role,
		canWrite: granted !== undefined && allows(granted, 'write'),
		isAdmin: granted !== undefined && allows(granted, 'admin'),
		hasSession: identity.via === 'session',
		mode: config().authMode
	};
}
