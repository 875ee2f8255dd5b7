import { expect, test, type Page } from '@playwright/test';
import { screenshotVariants } from './screens';
import { SERVER_START_TIMEOUT, startTempServer, type TempServer } from './servers';

/**
 * A new user's first minutes: the server prints a setup link, the user opens it, creates
 * the admin and is signed in; the admin adds a viewer and an editor; the viewer can look
 * but not press Start, the editor can.
 */
test.describe.serial('access: from the setup link to roles', () => {
	let server: TempServer;

	test.beforeAll(async () => {
		test.setTimeout(SERVER_START_TIMEOUT);
		// As `npm start` on a fresh clone: no admin in the environment, no token, no ORIGIN.
		server = await startTempServer({
			demo: true,
			signedIn: false,
			env: { VAPOR_ADMIN_USERNAME: '', VAPOR_ADMIN_PASSWORD: '', VAPOR_BOOTSTRAP_TOKEN: '' }
		});
	});
	test.afterAll(async () => {
		await server?.stop();
	});

	const signInAs = async (page: Page, username: string, password: string) => {
		await page.goto(`${server.url}/training/jobs`);
		await expect(page).toHaveURL(/\/sign-in\?next=%2Ftraining%2Fjobs$/);
		await page.getByLabel('User name').fill(username);
		await page.getByLabel('Password').fill(password);
		await page.getByRole('button', { name: 'Sign in' }).click();
		await expect(page).toHaveURL(/\/training\/jobs$/);
		await expect(page.locator('.user-name')).toHaveText(username);
	};
	const signOut = async (page: Page) => {
		await page.getByRole('button', { name: 'Sign out' }).click();
		await expect(page).toHaveURL(/\/sign-in$/);
	};

	test('the printed link creates the first admin, who adds a viewer and an editor', async ({ page }) => {
		// A long walk, with a dozen scrypt hashes and four screenshot sets.
		test.setTimeout(180_000);
		const printed = /http:\/\/localhost:\d+(\/setup\?code=[\w-]+)/.exec(server.output());
		expect(printed, server.output()).not.toBeNull();

		// Before setup, every page leads to sign-in, which says where the link is.
		await page.goto(`${server.url}/training/jobs`);
		await expect(page).toHaveURL(/\/sign-in/);
		const hint = page.getByRole('status').filter({ hasText: 'There is no user yet' });
		await expect(hint).toBeVisible();
		// Where the link is: the log line to look for, in the terminal or the compose logs.
		await expect(hint).toContainText('Look for Vapor has no users yet in the terminal that runs it');
		await expect(hint).toContainText('docker compose logs app');
		expect(server.output()).toContain('Vapor has no users yet');
		await screenshotVariants(page, 'sign-in-no-users');

		await page.goto(`${server.url}/setup?code=wrong`);
		await expect(page.getByRole('heading', { name: 'This setup link is not valid' })).toBeVisible();

		await page.goto(`${server.url}${printed![1]}`);
		await expect(page.getByRole('heading', { name: 'Create the first admin' })).toBeVisible();
		await page.getByLabel('User name').fill('ada');
		await page.getByLabel('Password', { exact: true }).fill('short');
		await page.getByLabel('Password again').fill('short');
		await page.getByRole('button', { name: 'Create admin and sign in' }).click();
		await expect(page.locator('#password-error')).toHaveText('A password needs at least 10 characters.');
		await screenshotVariants(page, 'setup');
		await page.setViewportSize({ width: 1280, height: 800 });
		await page.getByLabel('Password', { exact: true }).fill('ada lovelace 1815');
		await page.getByLabel('Password again').fill('ada lovelace 1815');
		await page.getByRole('button', { name: 'Create admin and sign in' }).click();

		// Signed in, and everything works as before: the demo jobs are there.
		await expect(page).toHaveURL(/\/training\/jobs$/);
		await expect(page.locator('tbody tr')).toHaveCount(3);
		await expect(page.locator('.user-name')).toHaveText('ada');

		await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
		const users = page.getByRole('region', { name: 'Users' });
		for (const [username, role] of [
			['vera', 'viewer'],
			['eddie', 'editor']
		] as const) {
			await page.getByLabel('New user name').fill(username);
			await page.getByLabel('Their password').fill(`${username} password 1234`);
			await page.getByLabel('Their role').selectOption(role);
			await page.getByRole('button', { name: 'Add user' }).click();
			await expect(page.getByText(`Added ${username}.`)).toBeVisible();
			await expect(users.locator(`tr[data-user="${username}"] select`)).toHaveValue(role);
		}
		await page.getByLabel('Token name').fill('ada laptop');
		await page.getByRole('button', { name: 'Create token' }).click();
		await expect(page.getByLabel('New token')).toBeVisible();
		await page.reload();
		await expect(page.getByRole('region', { name: 'Token audit log' }).locator('tbody tr').first()).toContainText(
			'ada laptop'
		);
		await screenshotVariants(page, 'settings-users');
		await page.setViewportSize({ width: 1280, height: 800 });
		await page.emulateMedia({ colorScheme: 'light' });

		await page.locator('.user').click();
		await expect(page.getByRole('heading', { level: 1, name: 'Your account' })).toBeVisible();
		await page.getByLabel('Current password').fill('not my password');
		await page.getByLabel('New password', { exact: true }).fill('ada lovelace 1816');
		await page.getByLabel('New password again').fill('ada lovelace 1816');
		await page.getByRole('button', { name: 'Change password' }).click();
		await expect(page.locator('#current-error')).toHaveText('The current password is not right.');
		await screenshotVariants(page, 'account');
		await page.setViewportSize({ width: 1280, height: 800 });
		await page.emulateMedia({ colorScheme: 'light' });
		await page.getByLabel('Current password').fill('ada lovelace 1815');
		await page.getByRole('button', { name: 'Change password' }).click();
		await expect(page.getByText('Password changed. Other browsers are signed out.')).toBeVisible();
		// Still signed in here, with the new session.
		await page.goto(`${server.url}/settings`);
		await expect(page.getByRole('heading', { level: 1, name: 'Settings' })).toBeVisible();
		await signOut(page);
		await screenshotVariants(page, 'sign-in');
	});

	test('a viewer sees the job but no Start; an editor starts it', async ({ page }) => {
		test.setTimeout(90_000);
		await signInAs(page, 'vera', 'vera password 1234');
		const queued = page.locator('tbody tr', { has: page.locator('[data-status="queued"]') }).first();
		await queued.locator('td.name a').click();
		// The list has a heading and a queued badge too: wait for the job's own page.
		await expect(page).toHaveURL(/\/training\/jobs\/[0-9a-f-]{36}$/);
		await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
		await expect(page.locator('[data-status="queued"]').first()).toBeVisible();
		await expect(page.getByRole('button', { name: 'Start' })).toHaveCount(0);
		const jobUrl = page.url();
		await signOut(page);

		await signInAs(page, 'eddie', 'eddie password 1234');
		await page.goto(jobUrl);
		await page.getByRole('button', { name: 'Start' }).click();
		await expect(page.locator('[data-status="running"]').first()).toBeVisible();
		await expect(page.getByRole('button', { name: 'Stop' })).toBeVisible();
		await page.getByRole('button', { name: 'Stop' }).click();
		await expect(page.locator('[data-status="stopped"]').first()).toBeVisible();
	});
});
