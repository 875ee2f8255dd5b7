import { describe, expect, it } from 'vitest';
import { actionFailure } from './action-failure';

describe('actionFailure', () => {
	it('is null for results that worked', () => {
		expect(actionFailure({ type: 'success', status: 200 })).toBeNull();
		expect(actionFailure({ type: 'redirect', status: 303, location: '/x' })).toBeNull();
	});

	it("gives an action's own refusal", () => {
		expect(actionFailure({ type: 'failure', status: 409, data: { error: 'The job is already running.' } })).toBe(
			'The job is already running.'
		);
		expect(actionFailure({ type: 'failure', status: 400, data: {} })).toBe('The server refused it (400).');
	});

	it("gives SvelteKit's cross-site refusal, which is not an ActionResult", () => {
		expect(actionFailure({ message: 'Cross-site POST form submissions are forbidden' })).toBe(
			'Cross-site POST form submissions are forbidden'
		);
	});

	it('explains errors: thrown by the action, network, and answers that are not JSON', () => {
		expect(actionFailure({ type: 'error', status: 500, error: { message: 'Internal Error' } })).toBe(
			'Internal Error (500)'
		);
		expect(actionFailure({ type: 'error', error: new TypeError('Failed to fetch') })).toMatch(
			/^Could not reach the server \(Failed to fetch\)/
		);
		expect(actionFailure({ type: 'error', error: new SyntaxError('Unexpected token <') })).toMatch(/not a form result/);
		expect(actionFailure(undefined)).toMatch(/no answer/);
	});
});
