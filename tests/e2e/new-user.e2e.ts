import { expect, test } from '@playwright/test';

// Runs against the shared server of global-setup.ts: a fresh database with the three demo jobs.

const JOB_NAME = 'ViT-S/16 on MNIST, e2e';

test('a new user sees the demo jobs, fixes a bad field and creates a job', async ({ page }) => {
	await page.goto('/');
	await expect(page).toHaveURL(/\/training\/jobs$/);
	await expect(page.getByRole('heading', { level: 1, name: 'Training jobs' })).toBeVisible();

	// The three demo jobs, one per finished/failed/waiting state (specs before this one may
	// have added jobs of their own to the shared server).
	const demoRows = page.locator('tbody tr').filter({ hasText: '(demo)' });
	await expect(demoRows).toHaveCount(3);
	for (const status of ['completed', 'failed', 'queued']) {
		await expect(demoRows.locator(`[data-status="${status}"]`)).toBeVisible();
	}

	await page.getByRole('link', { name: 'New job' }).click();
	await expect(page).toHaveURL(/\/training\/jobs\/new$/);
	await expect(page.getByRole('heading', { level: 1, name: 'New training job' })).toBeVisible();

	// Everything right but the epochs.
	await page.getByLabel('Name').fill(JOB_NAME);
	await page.getByLabel('Base model').selectOption('vit-small');
	await page.getByLabel('Dataset').selectOption('mnist');
	await page.getByLabel('Epochs').fill('0');
	await page.getByLabel('Learning rate').fill('0.001');
	await page.getByLabel('Batch size').fill('64');
	await page.getByRole('button', { name: 'Create job' }).click();

	// The message sits beside the field and describes it; nothing was created.
	const epochs = page.getByLabel('Epochs');
	await expect(page.locator('#epochs-error')).toHaveText('Epochs must be between 1 and 1000.');
	await expect(epochs).toHaveAttribute('aria-invalid', 'true');
	await expect(epochs).toHaveAccessibleDescription(/Epochs must be between 1 and 1000\./);
	await expect(page.getByRole('alert')).toHaveText('Please fix the highlighted fields.');
	await expect(page).toHaveURL(/\/training\/jobs\/new$/);
	// Only that field is marked, and what the user typed is still there.
	await expect(page.locator('[aria-invalid="true"]')).toHaveCount(1);
	await expect(page.getByLabel('Name')).toHaveValue(JOB_NAME);
	await expect(page.getByLabel('Base model')).toHaveValue('vit-small');
	await expect(page.getByLabel('Dataset')).toHaveValue('mnist');
	await expect(page.getByLabel('Learning rate')).toHaveValue('0.001');
	await expect(page.getByLabel('Batch size')).toHaveValue('64');

	await epochs.fill('2');
	await page.getByRole('button', { name: 'Create job' }).click();

	await expect(page).toHaveURL(/\/training\/jobs\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
	await expect(page.getByRole('heading', { level: 1, name: JOB_NAME })).toBeVisible();
	const badge = page.locator('[data-status="queued"]');
	await expect(badge).toBeVisible();
	await expect(badge).toHaveText('Queued');
	await expect(page.getByText('ViT-S/16 · MNIST · 2 epochs')).toBeVisible();
	const jobId = new URL(page.url()).pathname.split('/').pop()!;

	await page.getByRole('link', { name: '← Training jobs' }).click();
	await expect(page).toHaveURL(/\/training\/jobs$/);
	// The new job heads the list, newest first.
	const first = page.locator('tbody tr').first();
	await expect(first).toHaveAttribute('data-job-id', jobId);
	await expect(first.getByRole('link', { name: JOB_NAME })).toBeVisible();
	await expect(first.locator('[data-status="queued"]')).toHaveText('Queued');
});
