import { expect, test } from '@playwright/test';
import { authorization } from '../support/server';
import { screenshotVariants } from './screens';
import { SERVER_START_TIMEOUT, startTempServer, type TempServer } from './servers';

// A server of its own: these specs add tokens and jobs that other specs do not expect.
test.describe('settings: API tokens', () => {
	let server: TempServer;

	test.beforeAll(async () => {
		test.setTimeout(SERVER_START_TIMEOUT);
		server = await startTempServer({ demo: false });
	});
	test.afterAll(async () => {
		await server?.stop();
	});

	const createJobWith = (token: string) =>
		fetch(`${server.url}/api/training/jobs`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
			body: JSON.stringify({ name: 'from a script', source: 'external' })
		});

	test('create a token (shown once), use it, and revoke it; the audit log records both', async ({ page }) => {
		await page.goto(`${server.url}/training/jobs`);
		await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
		await expect(page).toHaveURL(/\/settings$/);
		await expect(page.getByRole('heading', { level: 1, name: 'Settings' })).toBeVisible();

		// A blank name is refused beside the field.
		await page.getByRole('button', { name: 'Create token' }).click();
		await expect(page.getByRole('alert')).toHaveText(/Give the token a name/);

		await page.getByLabel('Token name').fill('laptop script');
		await page.getByRole('button', { name: 'Create token' }).click();
		await expect(page.getByText('Copy the token "laptop script" now: it is shown only once.')).toBeVisible();
		const token = await page.getByLabel('New token').inputValue();
		expect(token).toMatch(/^vpr_[A-Za-z0-9_-]{43}$/);
		const row = page
			.getByRole('region', { name: 'Tokens', exact: true })
			.locator('tbody tr', { hasText: 'laptop script' });
		await expect(row).toContainText(`${token.slice(0, 8)}…${token.slice(-4)}`);
		await expect(row).toContainText('Active');
		expect((await createJobWith(token)).status).toBe(201);

		// Shown once: after a reload the page has only the hint.
		await page.reload();
		await expect(page.getByLabel('New token')).toHaveCount(0);
		expect(await page.content()).not.toContain(token);

		await screenshotVariants(page, 'settings');
		await page.setViewportSize({ width: 1280, height: 800 });
		await page.emulateMedia({ colorScheme: 'light' });

		page.once('dialog', (dialog) => dialog.accept());
		await page.getByRole('button', { name: 'Revoke laptop script' }).click();
		await expect(page.getByText('Revoked "laptop script". Requests that use it now get 401.')).toBeVisible();
		await expect(row).toContainText('Revoked');
		await expect(page.getByRole('button', { name: 'Revoke laptop script' })).toHaveCount(0);

		const refused = await createJobWith(token);
		expect(refused.status).toBe(401);
		expect((await refused.json()).error).toMatch(/"laptop script" .* was revoked/);

		// Admins see who did it, and from where.
		await page.reload();
		const audit = page.getByRole('region', { name: 'Token audit log' });
		await expect(audit.locator('tbody tr').first()).toContainText('token revoked');
		await expect(
			audit.locator('tbody tr', { hasText: 'token created' }).filter({ hasText: 'laptop script' })
		).toContainText('admin');
		await expect(audit.locator('tbody tr').first()).toContainText('127.0.0.1');
	});

	test('create an external job from the form; it runs when the script posts points', async ({ page }) => {
		// Four screenshot variants and a live run: over 30 s when the shared machine is loaded.
		test.setTimeout(90_000);
		await page.goto(`${server.url}/settings`);
		await page.getByLabel('Token name').fill('form job script');
		await page.getByRole('button', { name: 'Create token' }).click();
		const token = await page.getByLabel('New token').inputValue();

		await page.goto(`${server.url}/training/jobs/new`);
		await page.getByRole('radio', { name: /My training script/ }).check();
		await page.getByLabel('Name').fill('Iris from my laptop');
		await page.getByLabel('Model').fill('logistic regression');
		await page.getByLabel('Dataset').fill('iris');
		await page.getByLabel('Epochs').fill('2');
		await page.getByLabel('Steps per epoch').fill('0');
		await page.getByRole('button', { name: 'Create job' }).click();
		await expect(page.locator('#stepsPerEpoch-error')).toHaveText('Steps per epoch must be between 1 and 1000000.');
		// The choice of source and the typed values survive the refusal.
		await expect(page.getByRole('radio', { name: /My training script/ })).toBeChecked();
		await expect(page.getByLabel('Model')).toHaveValue('logistic regression');
		await screenshotVariants(page, 'new-job-external');
		await page.setViewportSize({ width: 1280, height: 800 });
		await page.emulateMedia({ colorScheme: 'light' });
		await page.getByLabel('Steps per epoch').fill('5');
		await page.getByRole('button', { name: 'Create job' }).click();

		await expect(page).toHaveURL(/\/training\/jobs\/[0-9a-f-]{36}$/);
		await expect(page.getByRole('heading', { level: 1, name: 'Iris from my laptop' })).toBeVisible();
		await expect(page.locator('[data-status="queued"]').first()).toBeVisible();
		const id = page.url().split('/').at(-1)!;
		const job = (await (await fetch(`${server.url}/api/training/jobs/${id}`, { headers: authorization() })).json()).job;
		expect(job).toMatchObject({
			source: 'external',
			baseModel: 'logistic regression',
			dataset: 'iris',
			totalSteps: 10
		});

		const points = Array.from({ length: 4 }, (_, i) => ({ step: i + 1, loss: 1 / (i + 1), accuracy: 0.25 * (i + 1) }));
		const posted = await fetch(`${server.url}/api/training/jobs/${id}/metrics`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
			body: JSON.stringify(points)
		});
		expect(posted.status).toBe(200);
		// The open page hears of it live.
		await expect(page.locator('[data-status="running"]').first()).toBeVisible();
		await expect(page.getByText(/4 points · drawn with every spike kept/)).toBeVisible();
	});
});
