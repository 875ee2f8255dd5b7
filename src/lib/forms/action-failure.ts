/**
 * What went wrong with a form action, in words a person understands, or null when it
 * worked. `result` is whatever `enhance` handed back: an ActionResult, or, when something
 * in front of the action answered (SvelteKit's cross-site check answers 403 `{ message }`,
 * a proxy answers HTML), a body that is not one.
 */
export function actionFailure(result: unknown): string | null {
	if (typeof result !== 'object' || result === null) return 'The server gave no answer. Please try again.';
	const { type } = result as { type?: unknown };
	if (type === 'success' || type === 'redirect') return null;
	if (type === 'failure') {
		const { data, status } = result as { data?: { error?: unknown }; status?: number };
		return typeof data?.error === 'string' && data.error
			? data.error
			: `The server refused it (${status ?? 'no status'}).`;
	}
	if (type === 'error') {
		const { error, status } = result as { error?: unknown; status?: number };
		if (error instanceof SyntaxError)
			return 'The server answered with something that is not a form result (a proxy in the way?).';
		if (error instanceof TypeError)
			return `Could not reach the server (${error.message}). Check the connection and try again.`;
		const message = messageOf(error);
		return status ? `${message} (${status})` : message;
	}
	// Not an ActionResult: a refusal by something in front of the action.
	return messageOf(result);
}

function messageOf(value: unknown): string {
	if (typeof value === 'object' && value !== null) {
		const { message, error } = value as { message?: unknown; error?: unknown };
		if (typeof message === 'string' && message) return message;
		if (typeof error === 'string' && error) return error;
	}
	return 'Something went wrong on the server. Please try again.';
}
