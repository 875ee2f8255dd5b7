import { expect, test, type Browser } from '@playwright/test';
import { authorization, sessionCookieName, signIn } from '../support/server';

// A run's config, tags and note on the monitor page, and the config diff on compare. On the
// shared server; the runs are made through the API with a config of their own.
test.describe.serial('run metadata', () => {
	const server = { url: process.env.VAPOR_E2E_URL! };
	const mark = Date.now().toString(36);

	async function api(method: string, path: string, body?: unknown) {
		const response = await fetch(`${server.url}${path}`, {
			method,
			headers: { 'content-type': 'application/json', ...authorization() },
			body: body === undefined ? undefined : JSON.stringify(body)
		});
		expect(response.ok, `${method} ${path}: ${await response.clone().text()}`).toBe(true);
		return response.json();
	}

	const baseConfig = {
		optimizer: { name: 'adamw', lr: 0.001, betas: [0.9, 0.999], weight_decay: 0.01 },
		model: { layers: 12, hidden: 768, heads: 12, dropout: 0.1 },
		data: { version: 'v3', shuffle: true },
		seed: 7
	};
	async function run(name: string, config: Record<string, unknown>) {
		const { job } = await api('POST', '/api/training/jobs', { name, source: 'external', stepsPerEpoch: 10, config });
		return job as { id: string };
	}

	let first: { id: string };
	let second: { id: string };
	test.beforeAll(async () => {
		first = await run(`metadata a ${mark}`, baseConfig);
		second = await run(`metadata b ${mark}`, {
			...baseConfig,
			optimizer: { ...baseConfig.optimizer, lr: 0.01 },
			seed: 8
		});
	});

	test('the monitor page shows the config as flattened keys, and the filter narrows it', async ({ page }) => {
		await page.goto(`${server.url}/training/jobs/${first.id}`);
		const config = page.getByRole('region', { name: /^Config/ });
		await expect(config.getByRole('heading')).toContainText('11 keys');
		const keys = config.locator('tbody th');
		await expect(keys).toHaveCount(11);
		await expect(config.locator('tr', { hasText: 'optimizer.lr' }).locator('td')).toHaveText('0.001');
		await expect(config.locator('tr', { hasText: 'model.layers' }).locator('td')).toHaveText('12');

		await config.getByRole('searchbox', { name: 'Filter config keys' }).fill('optimizer');
		await expect(keys).toHaveText(['optimizer.betas', 'optimizer.lr', 'optimizer.name', 'optimizer.weight_decay']);
		// Values are searched too.
		await config.getByRole('searchbox', { name: 'Filter config keys' }).fill('adamw');
		await expect(keys).toHaveText(['optimizer.name']);
		await config.getByRole('searchbox', { name: 'Filter config keys' }).fill('nothing like it');
		await expect(config.locator('tbody')).toContainText('No key matches “nothing like it”.');
	});

	/** A browser signed in as a new viewer of the shared server. */
	async function viewerPage(browser: Browser) {
		const admin = await signIn(server.url);
		const viewer = { username: `viewer${mark}`, password: 'viewer password 1234' };
		const added = await fetch(`${server.url}/settings?/addUser`, {
			method: 'POST',
			headers: {
				origin: server.url,
				cookie: `${admin.name}=${admin.value}`,
				'content-type': 'application/x-www-form-urlencoded',
				accept: 'application/json',
				'x-sveltekit-action': 'true'
			},
			body: new URLSearchParams({ ...viewer, role: 'viewer' })
		});
		expect(await added.text()).toContain('added');
		const session = await signIn(server.url, viewer);
		expect(session.name).toBe(sessionCookieName(Number(new URL(server.url).port)));
		const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
		await context.addCookies([{ name: session.name, value: session.value, url: server.url }]);
		return { page: await context.newPage(), close: () => context.close() };
	}

	test('an editor sets tags and a note with line breaks; they survive a reload; a viewer sees them read-only', async ({
		page,
		browser
	}) => {
		await page.goto(`${server.url}/training/jobs/${first.id}`);
		const notes = page.getByRole('region', { name: 'Tags and note' });
		await expect(notes.getByRole('list', { name: 'Tags' })).toHaveText('No tags');
		await notes.getByRole('button', { name: 'Edit tags and note' }).click();
		await notes.getByRole('textbox', { name: /^Tags/ }).fill('baseline, lr-sweep');
		await notes.getByLabel('Note').fill('Warm-up too short.\nTry 500 steps next.');
		await notes.getByRole('button', { name: 'Save' }).click();
		await expect(notes.getByRole('button', { name: 'Edit tags and note' })).toBeVisible();
		await expect(notes.getByRole('list', { name: 'Tags' }).getByRole('link')).toHaveText(['baseline', 'lr-sweep']);

		await page.reload();
		await expect(notes.getByRole('list', { name: 'Tags' }).getByRole('link')).toHaveText(['baseline', 'lr-sweep']);
		// innerText keeps the line break only if the page draws it (white-space: pre-wrap).
		await expect(notes.locator('.note')).toHaveJSProperty('innerText', 'Warm-up too short.\nTry 500 steps next.');
		const stored = await api('GET', `/api/training/jobs/${first.id}`);
		expect(stored.job).toMatchObject({
			tags: ['baseline', 'lr-sweep'],
			note: 'Warm-up too short.\nTry 500 steps next.'
		});

		const viewer = await viewerPage(browser);
		try {
			await viewer.page.goto(`${server.url}/training/jobs/${first.id}`);
			const seen = viewer.page.getByRole('region', { name: 'Tags and note' });
			await expect(seen.getByRole('list', { name: 'Tags' }).getByRole('link')).toHaveText(['baseline', 'lr-sweep']);
			await expect(seen.locator('.note')).toHaveJSProperty('innerText', 'Warm-up too short.\nTry 500 steps next.');
			await expect(seen.getByRole('button')).toHaveCount(0);
		} finally {
			await viewer.close();
		}
	});

	test('compare shows only the config keys that differ, side by side; equal keys fold away', async ({ page }) => {
		await page.goto(`${server.url}/training/compare?ids=${first.id},${second.id}`);
		const diff = page.getByTestId('config-diff');
		await expect(diff.locator('thead th')).toHaveText(['Key', `metadata a ${mark}`, `metadata b ${mark}`]);
		const rows = diff.locator('tbody tr');
		await expect(rows.locator('th')).toHaveText(['optimizer.lr', 'seed']);
		await expect(rows.filter({ hasText: 'optimizer.lr' }).locator('td')).toHaveText(['0.001', '0.01']);
		await expect(rows.filter({ hasText: 'seed' }).locator('td')).toHaveText(['7', '8']);

		const unfold = diff.getByRole('button', { name: 'Show 9 equal keys' });
		await unfold.click();
		await expect(rows).toHaveCount(11);
		await expect(rows.filter({ hasText: 'model.hidden' }).locator('td')).toHaveText(['768', '768']);
		await diff.getByRole('button', { name: 'Fold 9 equal keys' }).click();
		await expect(rows).toHaveCount(2);
	});
});
