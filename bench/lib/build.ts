import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Rebuilds when build/ is missing or older than anything it is built from. */
export function ensureBuild(): { rebuilt: boolean } {
	const entry = path.resolve('build/index.js');
	const newest = (target: string): number => {
		if (!fs.existsSync(target)) return 0;
		const stat = fs.statSync(target);
		if (!stat.isDirectory()) return stat.mtimeMs;
		return Math.max(0, ...fs.readdirSync(target).map((name) => newest(path.join(target, name))));
	};
	const sources = ['src', 'migrations', 'static', 'package.json', 'svelte.config.js', 'vite.config.ts'];
	const sourceTime = Math.max(...sources.map((source) => newest(path.resolve(source))));
	if (fs.existsSync(entry) && fs.statSync(entry).mtimeMs >= sourceTime) return { rebuilt: false };
	console.log('bench: build/ is missing or older than src/: npm run build …');
	const result = spawnSync('npm', ['run', 'build'], { encoding: 'utf8', timeout: 300_000 });
	if (result.status !== 0) throw new Error(`npm run build failed:\n${result.stdout}\n${result.stderr}`);
	return { rebuilt: true };
}
