import { expect, test, type Page } from '@playwright/test';
import { startTempServer, SERVER_START_TIMEOUT, type TempServer } from './servers';
import { authorization } from '../support/server';
import { startStreamProxy } from '../support/stream-proxy';

// What a new user hits in the first ten minutes (issue 16), on a server of its own:
// a fast simulator (a 1-epoch job of 100 steps takes about 3 s) and a fast heartbeat,
// so that a dead connection (2.5 silent heartbeat intervals) is noticed within 2.5 s.
const STEP_MS = '30';
const HEARTBEAT_MS = '1000';

test.describe.serial('the first ten minutes', () => {
	let server: TempServer;

	test.beforeAll(async () => {
		test.setTimeout(SERVER_START_TIMEOUT);
		server = await startTempServer({
			demo: false,
			env: { VAPOR_SIM_STEP_MS: STEP_MS, VAPOR_SSE_HEARTBEAT_MS: HEARTBEAT_MS }
		});
	});
	test.afterAll(async () => {
		await server?.stop();
	});

	async function api<T>(path: string, body?: unknown): Promise<T> {
		const response = await fetch(`${server.url}/api/training${path}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', ...authorization() },
			body: body === undefined ? undefined : JSON.stringify(body)
		});
		expect(response.ok, `${path}: ${response.status}`).toBe(true);
		return (await response.json()) as T;
	}
	const createJob = async (fields: Record<string, unknown>) =>
		(
			await api<{ job: { id: string; name: string } }>('/jobs', {
				baseModel: 'resnet-18',
				dataset: 'cifar-10',
				...fields
			})
		).job;
	const start = (id: string) => api(`/jobs/${id}/start`);
	const pointsLabel = (page: Page) => page.getByText(/points · drawn with every spike kept/);
	const toast = (page: Page, title: string) => page.locator('[data-sonner-toast]').filter({ hasText: title });

	test('a refused or failed form action says why in a toast, and the page stays usable', async ({ page }) => {
		const job = await createJob({ name: 'Refused start', epochs: 50 });
		await page.goto(`${server.url}/training/jobs/${job.id}`);
		await expect(page.locator('[data-connection="live"]')).toBeVisible();

		// What SvelteKit's cross-site check answers an enhanced form (not an ActionResult).
		await page.route('**/training/jobs/*?/start', (route) =>
			route.fulfill({
				status: 403,
				contentType: 'application/json',
				body: JSON.stringify({ message: 'Cross-site POST form submissions are forbidden' })
			})
		);
		await page.getByRole('button', { name: 'Start' }).click();
		await expect(toast(page, 'That did not work')).toContainText('Cross-site POST form submissions are forbidden');
		await expect(page.getByRole('button', { name: 'Start' })).toBeEnabled();
		await expect(page.locator('[data-status="queued"]')).toBeVisible();

		// No network at all.
		await page.unroute('**/training/jobs/*?/start');
		await page.route('**/training/jobs/*?/start', (route) => route.abort('connectionrefused'));
		await page.getByRole('button', { name: 'Start' }).click();
		// Toasts stack (the newest in front): this one is in the toaster with the first.
		await expect(toast(page, 'That did not work').filter({ hasText: 'Could not reach the server' })).toHaveCount(1);

		// The action's own refusal: the job was started elsewhere meanwhile.
		await page.unroute('**/training/jobs/*?/start');
		await page.route('**/training/jobs/*?/start', async (route) => {
			await start(job.id);
			await route.continue();
		});
		await page.getByRole('button', { name: 'Start' }).click();
		await expect(toast(page, 'That did not work').filter({ hasText: /is running/ })).toHaveCount(1);
		await api(`/jobs/${job.id}/stop`);

		// Creating a token, refused by the cross-site check.
		await page.goto(`${server.url}/settings`);
		await page.route('**/settings?/create', (route) =>
			route.fulfill({
				status: 403,
				contentType: 'application/json',
				body: JSON.stringify({ message: 'Cross-site POST form submissions are forbidden' })
			})
		);
		await page.getByLabel('Token name').fill('laptop');
		await page.getByRole('button', { name: 'Create token' }).click();
		await expect(toast(page, 'Could not create the token')).toContainText('Cross-site');
	});

	test('the monitor notices a connection that went silent, says so, and resumes by id', async ({ page }) => {
		test.setTimeout(90_000);
		const proxy = await startStreamProxy({ port: Number(new URL(server.url).port) });
		try {
			const job = await createJob({ name: 'Through a stuck proxy', epochs: 3 });
			await page.goto(`${proxy.url}/training/jobs/${job.id}`);
			await expect(page.locator('[data-connection="live"]')).toBeVisible();
			await start(job.id);
			await expect(pointsLabel(page)).toHaveText(/^[1-9]\d* points/);
			// The proxy holds the stream open and forwards nothing more.
			proxy.freeze();
			// The notice lasts as long as the reconnect: a first retry comes within 250–500 ms, a
			// window that expect's retries (a second apart by then) can miss. Checked every frame.
			await page.waitForFunction(
				() =>
					document.querySelector('[data-connection="reconnecting"] [role="status"]')?.textContent === 'Reconnecting…',
				undefined,
				{ polling: 'raf', timeout: 10_000 }
			);
			await expect(page.locator('[data-status="completed"]')).toBeVisible({ timeout: 30_000 });
			await expect(pointsLabel(page)).toHaveText(/^300 points/);
			await expect(page.getByText('Reconnecting…')).toHaveCount(0);
		} finally {
			await proxy.close();
		}
	});

	test('the jobs list notices a silent feed and catches up', async ({ page }) => {
		test.setTimeout(60_000);
		const proxy = await startStreamProxy({ port: Number(new URL(server.url).port) });
		try {
			const job = await createJob({ name: 'Listed through a stuck proxy', epochs: 1 });
			await page.goto(`${proxy.url}/training/jobs`);
			const row = page.locator(`tr[data-job-id="${job.id}"]`);
			await expect(row.locator('[data-status="queued"]')).toBeVisible();
			await expect.poll(() => proxy.streams()).toBeGreaterThan(0);
			proxy.freeze();
			await start(job.id);
			await expect(row.locator('[data-status="completed"]')).toBeVisible({ timeout: 20_000 });
			await expect(row).toContainText('100%');
		} finally {
			await proxy.close();
		}
	});

	test('no "Reconnecting…" after a job finishes: the end of its stream is expected', async ({ page }) => {
		const job = await createJob({ name: 'Finish quietly', epochs: 1 });
		await page.goto(`${server.url}/training/jobs/${job.id}`);
		await expect(page.locator('[data-connection="live"]')).toBeVisible();
		// Every connection state the header goes through, from here on.
		await page.evaluate(() => {
			const header = document.querySelector('[data-connection]')!;
			const seen: string[] = [];
			(window as unknown as { connectionStates: string[] }).connectionStates = seen;
			new MutationObserver(() => seen.push(header.getAttribute('data-connection')!)).observe(header, {
				attributes: true,
				attributeFilter: ['data-connection']
			});
			new MutationObserver(() => {
				if (document.body.textContent?.includes('Reconnecting…')) seen.push('shown: Reconnecting…');
			}).observe(document.body, { childList: true, subtree: true, characterData: true });
		});
		await start(job.id);
		await expect(page.locator('[data-status="completed"]')).toBeVisible({ timeout: 15_000 });
		await expect(page.locator('[data-connection="ended"]')).toBeVisible();
		await expect(pointsLabel(page)).toHaveText(/^100 points/);
		expect(await page.evaluate(() => (window as unknown as { connectionStates: string[] }).connectionStates)).toEqual([
			'ended'
		]);
	});

	test('Stop stays red on hover, light and dark', async ({ page }) => {
		test.setTimeout(60_000);
		const job = await createJob({ name: 'Red button', epochs: 50 });
		await start(job.id);
		await page.goto(`${server.url}/training/jobs/${job.id}`);
		const stop = page.getByRole('button', { name: 'Stop' });
		await expect(stop).toBeVisible();
		const background = () => stop.evaluate((button) => getComputedStyle(button).backgroundColor);
		const expected = { light: 'rgb(163, 32, 32)', dark: 'rgb(252, 165, 165)' };
		for (const colorScheme of ['light', 'dark'] as const) {
			await page.emulateMedia({ colorScheme });
			await page.mouse.move(0, 0);
			// The page draws a live run meanwhile: on a loaded machine an evaluation can wait seconds.
			await expect
				.poll(background, { timeout: 15_000 })
				.toBe(colorScheme === 'light' ? 'rgb(196, 43, 43)' : 'rgb(248, 113, 113)');
			await stop.hover();
			await expect(stop).toHaveCSS('background-color', expected[colorScheme], { timeout: 15_000 });
		}
		await api(`/jobs/${job.id}/stop`);
	});

	test('a job that finishes while the user is on another page is announced there, once, with a link', async ({
		page
	}) => {
		const job = await createJob({ name: 'Finished elsewhere', epochs: 1 });
		await page.goto(`${server.url}/settings`);
		await expect(page.getByRole('heading', { level: 1, name: 'Settings' })).toBeVisible();
		await start(job.id);
		const completed = toast(page, 'Training completed');
		await expect(completed).toContainText('Finished elsewhere');
		await expect(completed).toHaveCount(1);
		await completed.getByRole('button', { name: 'Open' }).click();
		await expect(page).toHaveURL(new RegExp(`/training/jobs/${job.id}$`));
		await expect(page.locator('[data-status="completed"]')).toBeVisible();
		// Its action closed the toast, and the job's own page does not announce it again.
		await expect(toast(page, 'Training completed')).toHaveCount(0);

		// A stop seen on the jobs list.
		const stopped = await createJob({ name: 'Stopped elsewhere', epochs: 50 });
		await page.goto(`${server.url}/training/jobs`);
		await expect(page.locator(`tr[data-job-id="${stopped.id}"] [data-status="queued"]`)).toBeVisible();
		await start(stopped.id);
		await expect(page.locator(`tr[data-job-id="${stopped.id}"] [data-status="running"]`)).toBeVisible();
		await api(`/jobs/${stopped.id}/stop`);
		await expect(toast(page, 'Training stopped')).toContainText('Stopped elsewhere');
	});

	test('on its own page a finished job is announced once, not by both the page and the feed', async ({ page }) => {
		const job = await createJob({ name: 'Announced once', epochs: 1 });
		await page.goto(`${server.url}/training/jobs/${job.id}`);
		await expect(page.locator('[data-connection="live"]')).toBeVisible();
		await start(job.id);
		await expect(page.locator('[data-connection="ended"]')).toBeVisible({ timeout: 15_000 });
		await expect(toast(page, 'Training completed')).toHaveCount(1);
	});

	test('an external run past its plan says "planned", not "Epoch 4 / 2"', async ({ page }) => {
		const job = await createJob({ name: 'Outgrows its plan', source: 'external', epochs: 2, stepsPerEpoch: 100 });
		await api(
			`/jobs/${job.id}/metrics`,
			Array.from({ length: 400 }, (_, i) => ({ step: i + 1, loss: 1 / (i + 1) }))
		);
		await page.goto(`${server.url}/training/jobs/${job.id}`);
		await expect(page.getByTestId('stat-step')).toHaveText(/^400\s+planned 200$/);
		await expect(page.getByTestId('stat-epoch')).toHaveText(/^4\s+planned 2$/);
		await expect(page.getByTestId('stat-eta')).toHaveText('Past the plan');
	});

	test('an external job that names no model or dataset, waiting: no "custom · custom", and how to feed it', async ({
		page
	}) => {
		const { job } = await api<{ job: { id: string } }>('/jobs', { name: 'Unnamed script', source: 'external' });
		await page.goto(`${server.url}/training/jobs/${job.id}`);
		await expect(page.locator('.config')).toContainText('Your own training script');
		await expect(page.locator('.config')).not.toContainText('custom');
		await expect(page.getByRole('link', { name: 'Settings' }).last()).toHaveAttribute('href', '/settings');
		await expect(page.locator('.waiting pre')).toContainText(`${server.url}/api/training/jobs/${job.id}/metrics`);
	});
});
