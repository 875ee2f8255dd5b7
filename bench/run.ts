/**
 * npm run bench [-- write|stream]: runs the suites (all without an argument), prints
 * their figures and writes each suite's JSON to bench/results/<suite>.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { machine } from './lib/measure';
import { runWriteSuite } from './write';
import { runStreamSuite } from './stream';

const SUITES: Record<string, () => Promise<unknown>> = {
	write: runWriteSuite,
	stream: runStreamSuite
};

async function main() {
	const requested = process.argv.slice(2).filter((arg) => arg !== '--');
	const unknown = requested.filter((name) => !(name in SUITES));
	if (unknown.length > 0) {
		console.error(`Unknown suite "${unknown[0]}". Suites: ${Object.keys(SUITES).join(', ')} (none = all).`);
		process.exit(2);
	}
	const names = requested.length > 0 ? requested : Object.keys(SUITES);
	const resultsDir = path.resolve('bench/results');
	fs.mkdirSync(resultsDir, { recursive: true });
	for (const name of names) {
		const startedAt = new Date();
		console.log(`\n=== ${name} (${startedAt.toISOString()}) ===`);
		const figures = await SUITES[name]!();
		const file = path.join(resultsDir, `${name}.json`);
		const report = {
			suite: name,
			command: `npm run bench -- ${name}`,
			startedAt: startedAt.toISOString(),
			durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
			machine: machine(),
			...(figures as object)
		};
		fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
		console.log(`\n${name}: wrote ${path.relative(process.cwd(), file)}`);
	}
}

main().then(
	() => process.exit(0),
	(error) => {
		console.error(error);
		process.exit(1);
	}
);
