import { expect, test } from '@playwright/test';

// #16 item 7: what a user types before the page hydrates is kept, and the form works without JavaScript.
test.describe('new-job form before and without JavaScript', () => {
	test('typing before hydration survives it and is what the form posts', async ({ page }) => {
		// Hold the page's JavaScript until the user has typed, as on a slow connection.
		let release!: () => void;
		const held = new Promise<void>((resolve) => (release = resolve));
		await page.route('**/_app/immutable/**', async (route) => {
			await held;
			await route.continue();
		});
		await page.goto('/training/jobs/new', { waitUntil: 'commit' });
		const name = `typed early ${Date.now()}`;
		await page.getByLabel('Name').fill(name);
		await page.getByLabel('Epochs').fill('2');
		await page.getByLabel('Base model').selectOption({ index: 1 });
		const chosen = await page.getByLabel('Base model').inputValue();
		release();
		// Hydrated: choosing "My training script" now swaps the model list for a text field.
		await page.getByText('My training script').click();
		await expect(page.getByLabel('Model', { exact: true })).toBeVisible();
		await page.getByText('Simulator', { exact: true }).click();
		await expect(page.getByLabel('Name')).toHaveValue(name);
		await expect(page.getByLabel('Epochs')).toHaveValue('2');
		await expect(page.getByLabel('Base model')).toHaveValue(chosen);
		await page.getByRole('button', { name: 'Create job' }).click();
		await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
		await expect(page.getByText(/2\s+epochs/)).toBeVisible();
	});

	test.describe('with JavaScript off', () => {
		test.use({ javaScriptEnabled: false });

		test('creates a job, and shows validation errors', async ({ page }) => {
			await page.goto('/training/jobs/new');
			await page.getByLabel('Epochs').fill('0');
			await page.getByRole('button', { name: 'Create job' }).click();
			await expect(page.getByText('Epochs must be between 1 and 1000.')).toBeVisible();
			const name = `no script ${Date.now()}`;
			await page.getByLabel('Name').fill(name);
			await page.getByLabel('Epochs').fill('1');
			await page.getByRole('button', { name: 'Create job' }).click();
			await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
		});
	});
});
