import { expect, test } from '@playwright/test';
import { screenshotVariants } from './screens';
import { SERVER_START_TIMEOUT, startTempServer, type TempServer } from './servers';

// A server of its own without demo jobs: the page a user sees on a fresh install with VAPOR_DEMO=0.
test.describe('empty state', () => {
	let server: TempServer;

	test.beforeAll(async () => {
		test.setTimeout(SERVER_START_TIMEOUT);
		server = await startTempServer({ demo: false });
	});

	test.afterAll(async () => {
		await server?.stop();
	});

	test('an empty database invites the user to create a first job', async ({ page }) => {
		await page.goto(`${server.url}/training/jobs`);
		await expect(page.getByRole('heading', { level: 1, name: 'Training jobs' })).toBeVisible();
		await expect(page.getByText('No training jobs yet')).toBeVisible();
		await expect(page.getByRole('table')).toHaveCount(0);
		// The header's "New job" button gives way to the one call to action.
		await expect(page.getByRole('link', { name: 'New job' })).toHaveCount(0);

		const create = page.getByRole('link', { name: 'Create your first job' });
		await expect(create).toBeVisible();
		await expect(create).toHaveAttribute('href', '/training/jobs/new');
		await create.click();
		await expect(page).toHaveURL(/\/training\/jobs\/new$/);
		await expect(page.getByRole('heading', { level: 1, name: 'New training job' })).toBeVisible();
	});

	test('screenshots of the empty state', async ({ page }) => {
		await page.goto(`${server.url}/training/jobs`);
		await expect(page.getByText('No training jobs yet')).toBeVisible();
		await screenshotVariants(page, 'empty-state');
	});
});
