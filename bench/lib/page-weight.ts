import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from '@playwright/test';

/**
 * The scripts a page loads until `mark` is set, counted as adapter-node serves them: the
 * precompressed .gz files in build/client.
 */
export async function javascriptShipped(
	browser: Browser,
	pageUrl: string,
	mark: string
): Promise<{ files: number; gzipBytes: number; rawBytes: number; largest: { file: string; gzipBytes: number }[] }> {
	const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
	const scripts = new Set<string>();
	page.on('response', (response) => {
		if (response.request().resourceType() === 'script') scripts.add(new URL(response.url()).pathname);
	});
	// Not 'networkidle': the page keeps its event streams open, so the network is never idle.
	// Every script the charts need has loaded once they are drawn.
	await page.goto(pageUrl, { waitUntil: 'load' });
	await page.waitForFunction((name) => performance.getEntriesByName(name).length > 0, mark, { timeout: 30_000 });
	await page.close();
	let gzipBytes = 0;
	let rawBytes = 0;
	const sizes: { file: string; gzipBytes: number }[] = [];
	for (const script of scripts) {
		const file = path.resolve('build/client', `.${script}`);
		rawBytes += fs.statSync(file).size;
		const gzip = fs.statSync(`${file}.gz`).size;
		gzipBytes += gzip;
		sizes.push({ file: script, gzipBytes: gzip });
	}
	const largest = sizes.sort((a, b) => b.gzipBytes - a.gzipBytes).slice(0, 12);
	return { files: scripts.size, gzipBytes, rawBytes, largest };
}
