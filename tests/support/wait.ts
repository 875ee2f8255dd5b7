/** Polls `condition` until it holds; fails with `message` after `timeoutMs`. */
export async function waitFor(
	condition: () => boolean | Promise<boolean>,
	timeoutMs = 10_000,
	message: string | (() => string) = 'condition'
): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		if (await condition()) return;
		if (Date.now() > deadline)
			throw new Error(
				`timed out after ${timeoutMs} ms waiting for ${typeof message === 'function' ? message() : message}`
			);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}
