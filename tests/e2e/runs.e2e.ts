import { expect, test, type Page } from '@playwright/test';
import { authorization } from '../support/server';

// The run table: search, filters, sort, config columns, tags, archive and delete. On the
// shared server (a second PGlite server takes over a minute to start on a loaded machine):
// every run here carries a tag of this spec run, and each view is narrowed to it.
test.describe.serial('run table', () => {
	const server = { url: process.env.VAPOR_E2E_URL! };
	const mark = `e2e-${Date.now().toString(36)}`;
	const mine = `tag=${mark}`;

	async function api(method: string, path: string, body?: unknown) {
		const response = await fetch(`${server.url}${path}`, {
			method,
			headers: { 'content-type': 'application/json', ...authorization() },
			body: body === undefined ? undefined : JSON.stringify(body)
		});
		expect(response.ok, `${method} ${path}: ${await response.clone().text()}`).toBe(true);
		return response.json();
	}

	async function finishedRun(name: string, fields: Record<string, unknown>, points: number) {
		const tags = [mark, ...((fields.tags as string[]) ?? [])];
		const { job } = await api('POST', '/api/training/jobs', {
			name,
			source: 'external',
			stepsPerEpoch: 10,
			...fields,
			tags
		});
		const batch = Array.from({ length: points }, (_, i) => ({ step: i + 1, loss: 2 / (i + 1), accuracy: i / points }));
		await api('POST', `/api/training/jobs/${job.id}/metrics`, batch);
		await api('POST', `/api/training/jobs/${job.id}/finish`, { status: 'completed' });
		return job as { id: string };
	}

	test.beforeAll(async () => {
		await finishedRun('adam small', { tags: ['baseline'], config: { optimizer: { name: 'adam', lr: 0.001 } } }, 30);
		await finishedRun('adam large', { tags: ['sweep'], config: { optimizer: { name: 'adam', lr: 0.01 } } }, 20);
		await finishedRun('sgd run', { tags: ['sweep'], config: { optimizer: { name: 'sgd', lr: 0.1 } } }, 10);
	});

	const names = (page: Page) => page.locator('tbody td.name a');

	test('search by name, tag and config; the query lives in the address and survives a reload', async ({ page }) => {
		await page.goto(`${server.url}/training/jobs?${mine}`);
		await expect(names(page)).toHaveText(['sgd run', 'adam large', 'adam small']);

		const search = page.getByRole('searchbox', { name: 'Search runs' });
		await search.fill('config.optimizer.lr>0.005');
		await search.press('Enter');
		await expect(page).toHaveURL(/q=config.optimizer.lr%3E0.005/);
		await expect(names(page)).toHaveText(['sgd run', 'adam large']);

		await search.fill('adam tag:sweep');
		await search.press('Enter');
		await expect(names(page)).toHaveText(['adam large']);
		await page.reload();
		await expect(search).toHaveValue('adam tag:sweep');
		await expect(names(page)).toHaveText(['adam large']);

		await search.fill('config.lr>fast');
		await search.press('Enter');
		await expect(page.getByRole('alert')).toContainText('needs a number');
	});

	test('filter by tag, sort by a column, and show config columns', async ({ page }) => {
		await page.goto(`${server.url}/training/jobs?q=tag:sweep&${mine}`);
		await expect(names(page)).toHaveText(['sgd run', 'adam large']);

		await page.goto(`${server.url}/training/jobs?${mine}`);
		await page.getByRole('link', { name: 'Name' }).click();
		await expect(page).toHaveURL(/sort=name/);
		await expect(names(page)).toHaveText(['adam large', 'adam small', 'sgd run']);
		await page.getByRole('link', { name: /^Name/ }).click();
		await expect(names(page)).toHaveText(['sgd run', 'adam small', 'adam large']);
		await page.getByRole('link', { name: 'Latest loss' }).click();
		// Lowest latest loss first: 2/30, 2/20, 2/10.
		await expect(names(page)).toHaveText(['adam small', 'adam large', 'sgd run']);

		await page.getByLabel('Config columns').fill('optimizer.name, optimizer.lr');
		await page.getByRole('button', { name: 'Search' }).click();
		await expect(page.getByRole('columnheader', { name: 'optimizer.lr' })).toBeVisible();
		const row = page.locator('tr', { has: page.getByRole('link', { name: 'sgd run' }) });
		await expect(row.locator('td.config-col')).toHaveText(['sgd', '0.1']);
	});

	test('tag selected rows, archive and unarchive, then delete with a confirmation naming the run', async ({ page }) => {
		await page.goto(`${server.url}/training/jobs?${mine}`);
		await page.getByRole('checkbox', { name: 'Select adam small' }).check();
		await page.getByRole('checkbox', { name: 'Select sgd run' }).check();
		await page.getByLabel('Tags to add to the selected runs').fill('reviewed');
		await page.getByRole('button', { name: 'Add tags' }).click();
		await expect(page.locator('tbody tr', { hasText: 'reviewed' })).toHaveCount(2);

		await page.getByRole('button', { name: 'Archive adam small' }).click();
		await expect(names(page)).toHaveText(['sgd run', 'adam large']);
		await page.getByLabel('Show').selectOption('only');
		await page.getByRole('button', { name: 'Search' }).click();
		await expect(names(page)).toHaveText(['adam small']);
		await page.getByRole('button', { name: 'Unarchive adam small' }).click();
		await expect(names(page)).toHaveText([]);
		await page.goto(`${server.url}/training/jobs?${mine}`);
		await expect(names(page)).toHaveText(['sgd run', 'adam large', 'adam small']);

		await page.getByRole('button', { name: 'Delete sgd run' }).click();
		const dialog = page.getByRole('dialog');
		await expect(dialog.getByRole('heading')).toHaveText('Delete “sgd run”?');
		// Every value stored under every key: 10 steps of loss and accuracy.
		await expect(dialog).toContainText('its 20 logged values');
		await dialog.getByRole('button', { name: 'Cancel' }).click();
		await expect(names(page)).toHaveText(['sgd run', 'adam large', 'adam small']);
		await page.getByRole('button', { name: 'Delete sgd run' }).click();
		await dialog.getByRole('button', { name: 'Delete' }).click();
		await expect(names(page)).toHaveText(['adam large', 'adam small']);
		await page.reload();
		await expect(names(page)).toHaveText(['adam large', 'adam small']);
	});
});
