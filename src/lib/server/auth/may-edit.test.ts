import { describe, expect, it } from 'vitest';
import type { Identity } from './door';
import { mayEditJobs } from './may-edit';

const asking = (access: Identity['access']) =>
	({ locals: { identity: { account: undefined, access, via: 'session' } } }) as Parameters<typeof mayEditJobs>[0];

describe('mayEditJobs', () => {
	it('lets editors and admins change jobs', () => {
		expect(mayEditJobs(asking('write'))).toBe(true);
		expect(mayEditJobs(asking('admin'))).toBe(true);
	});

	it('shows a viewer, or nobody, no edit controls', () => {
		expect(mayEditJobs(asking('read'))).toBe(false);
		expect(mayEditJobs(asking('none'))).toBe(false);
	});
});
