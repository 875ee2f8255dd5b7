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
 * Saves docs/screenshots/<name>-<viewport>-<scheme>.png for both viewports and both
 * colour schemes, without reloading: the page stays as the test left it.
 */
export async function screenshotVariants(page: Page, name: string): Promise<void> {
	if (!SAVE_SCREENSHOTS) return;
	for (const [viewport, size] of Object.entries(VIEWPORTS)) {
		await page.setViewportSize(size);
		for (const colorScheme of COLOR_SCHEMES) {
			await page.emulateMedia({ colorScheme });
			await page.screenshot({
				path: `docs/screenshots/${name}-${viewport}-${colorScheme}.png`,
				fullPage: true,
				animations: 'disabled'
			});
		}
	}
}
