import type { Page } from '@playwright/test';

export const VIEWPORTS = {
	desktop: { width: 1280, height: 800 },
	phone: { width: 390, height: 844 }
} as const;

export const COLOR_SCHEMES = ['light', 'dark'] as const;

/**
 * Set by `npm run screenshots`. A plain test run leaves the committed PNGs alone, so that
 * `npm test` keeps the tree clean; a spec that calls screenshotVariants belongs in that
 * script's list of files.
 */
export const SAVE_SCREENSHOTS = process.env.VAPOR_SCREENSHOTS === '1';

/**
 * The monitor draws a metric panel only while it is on screen, and a full-page screenshot
 * does not scroll: a window as tall as the page puts every panel on screen, and the shot
 * waits until each has drawn (or said it has no values).
 */
async function drawEveryPanel(page: Page, width: number): Promise<void> {
	if ((await page.locator('article.panel').count()) === 0) return;
	const height = await page.evaluate(() => document.documentElement.scrollHeight);
	await page.setViewportSize({ width, height });
	await page.waitForFunction(() =>
		[...document.querySelectorAll('article.panel')].every(
			(panel) => panel.querySelector('.chart-frame') && !panel.textContent?.includes('Loading…')
		)
	);
}

/**
 * Saves docs/screenshots/<name>-<viewport>-<scheme>.png for both viewports and both
 * colour schemes, without reloading: the page stays as the test left it. `fullPage: false`
 * keeps to the window (the top of a long page).
 */
export async function screenshotVariants(
	page: Page,
	name: string,
	{ fullPage = true }: { fullPage?: boolean } = {}
): Promise<void> {
	if (!SAVE_SCREENSHOTS) return;
	for (const [viewport, size] of Object.entries(VIEWPORTS)) {
		await page.setViewportSize(size);
		for (const colorScheme of COLOR_SCHEMES) {
			await page.emulateMedia({ colorScheme });
			if (fullPage) await drawEveryPanel(page, size.width);
			await page.screenshot({
				path: `docs/screenshots/${name}-${viewport}-${colorScheme}.png`,
				fullPage,
				animations: 'disabled'
			});
			await page.setViewportSize(size);
		}
	}
}
