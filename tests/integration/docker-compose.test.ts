import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

// There is no Docker engine in CI, so this checks what can be checked without one:
// docker-compose renders the compose file, and the Dockerfile only COPYs files the
// build context will actually contain.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const INSTALL_HINT =
	'docker-compose is not installed: run `apt-get install -y docker-compose` (CI installs it) to run this test.';

// Whatever YAML holds: scalars, sequences, mappings.
type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml };
type YamlMap = { [key: string]: Yaml };

/** `docker-compose config` of the repo's compose file, with no .env and no VAPOR_SIM_STEP_MS from the caller. */
function renderComposeConfig(): string {
	const emptyEnvFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vapor-compose-')), '.env');
	fs.writeFileSync(emptyEnvFile, '');
	const env = { ...process.env };
	delete env.VAPOR_SIM_STEP_MS;
	delete env.COMPOSE_FILE;
	for (const name of ['ORIGIN', 'VAPOR_ADMIN_USERNAME', 'VAPOR_ADMIN_PASSWORD', 'VAPOR_BOOTSTRAP_TOKEN'])
		delete env[name];
	try {
		return execFileSync('docker-compose', ['--env-file', emptyEnvFile, '-f', 'docker-compose.yml', 'config'], {
			cwd: ROOT,
			env,
			encoding: 'utf8',
			stdio: ['ignore', 'pipe', 'pipe']
		});
	} catch (error) {
		const err = error as NodeJS.ErrnoException & { status?: number; stderr?: string };
		if (err.code === 'ENOENT') throw new Error(INSTALL_HINT, { cause: error });
		throw new Error(`docker-compose config exited with ${err.status}:\n${err.stderr ?? err.message}`, { cause: error });
	} finally {
		fs.rmSync(path.dirname(emptyEnvFile), { recursive: true, force: true });
	}
}

const asMap = (value: Yaml | undefined, what: string): YamlMap => {
	if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${what} is not a mapping`);
	return value;
};

/** `environment` as a mapping whether it was written as a map or as KEY=value items. */
function environmentOf(service: YamlMap): Record<string, string> {
	const environment = service.environment ?? {};
	if (Array.isArray(environment)) {
		return Object.fromEntries(environment.map((item) => String(item).split(/=(.*)/s).slice(0, 2)));
	}
	return Object.fromEntries(
		Object.entries(asMap(environment, 'environment')).map(([key, value]) => [key, String(value)])
	);
}

/** Dockerfile instructions with line continuations joined and comments dropped. */
function dockerfileInstructions(text: string): { keyword: string; args: string }[] {
	const joined = text
		.split('\n')
		.filter((line) => !line.trimStart().startsWith('#'))
		.join('\n')
		.replace(/\\\n/g, ' ');
	return joined
		.split('\n')
		.map((line) => line.trim())
		.filter(Boolean)
		.map((line) => {
			const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(line)!;
			return { keyword: keyword.toUpperCase(), args: args.trim() };
		});
}

/** COPY/ADD arguments without flags; JSON (exec) form or whitespace-separated. */
function copyArgs(args: string): { flags: string[]; paths: string[] } {
	const words = args.split(/\s+/);
	const flags = words.filter((word) => word.startsWith('--'));
	const rest = args.replace(/^(--\S+\s+)*/, '');
	const paths = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
	return { flags, paths };
}

describe('docker-compose.yml', () => {
	// Rendered on first use, in each test, so a missing docker-compose fails every one of them.
	let rendered: YamlMap | undefined;
	const compose = () => (rendered ??= asMap(parseYaml(renderComposeConfig()) as Yaml, 'compose config'));
	const services = () => asMap(compose().services, 'services');

	it('renders with docker-compose and has exactly the db and app services', () => {
		expect(Object.keys(services()).sort()).toEqual(['app', 'db']);
	});

	it('runs Postgres as db with a pg_isready healthcheck and the pgdata volume', () => {
		const db = asMap(services().db, 'db');
		expect(String(db.image)).toMatch(/^postgres:1[56]$/);
		expect(environmentOf(db)).toMatchObject({
			POSTGRES_USER: 'vapor',
			POSTGRES_PASSWORD: 'vapor',
			POSTGRES_DB: 'vapor'
		});

		const healthcheck = asMap(db.healthcheck, 'db.healthcheck');
		const test = Array.isArray(healthcheck.test) ? healthcheck.test.map(String).join(' ') : String(healthcheck.test);
		expect(test).toContain('pg_isready -U vapor -d vapor');

		const volumes = (db.volumes as Yaml[]).map((volume) =>
			typeof volume === 'string' ? volume : `${asMap(volume, 'volume').source}:${asMap(volume, 'volume').target}`
		);
		expect(volumes.some((volume) => volume.startsWith('pgdata:/var/lib/postgresql/data'))).toBe(true);
		expect(Object.keys(asMap(compose().volumes, 'volumes'))).toContain('pgdata');
	});

	it('builds app from this repo and points it at db once db is healthy', () => {
		const app = asMap(services().app, 'app');
		const build = asMap(app.build, 'app.build');
		expect(path.resolve(ROOT, String(build.context))).toBe(ROOT);
		expect(fs.existsSync(path.join(ROOT, String(build.dockerfile ?? 'Dockerfile')))).toBe(true);

		const dependsOn = asMap(app.depends_on, 'app.depends_on');
		expect(asMap(dependsOn.db, 'app.depends_on.db').condition).toBe('service_healthy');

		const environment = environmentOf(app);
		expect(environment.DATABASE_URL).toBe('postgres://vapor:vapor@db:5432/vapor');
		// Taken from the environment, never hard-coded (empty here: the caller set none).
		for (const name of ['ORIGIN', 'VAPOR_ADMIN_USERNAME', 'VAPOR_ADMIN_PASSWORD', 'VAPOR_BOOTSTRAP_TOKEN'])
			expect(environment[name] ?? '', name).toBe('');
		expect(environment.VAPOR_SIM_STEP_MS).toBe('200');
		expect(app.restart).toBe('unless-stopped');
	});

	it('publishes port 3000', () => {
		const ports = asMap(services().app, 'app').ports as Yaml[];
		const published = ports.map((port) => {
			if (typeof port === 'string') return port.replace(/\/tcp$/, '');
			const { published, target } = asMap(port, 'port');
			return `${published}:${target}`;
		});
		expect(published).toContain('3000:3000');
	});
});

describe('Dockerfile', () => {
	const instructions = dockerfileInstructions(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
	const stageStarts = instructions.flatMap((instruction, index) => (instruction.keyword === 'FROM' ? [index] : []));
	const finalStage = instructions.slice(stageStarts.at(-1));
	const ignored = fs
		.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
		.split('\n')
		.map((line) => line.trim())
		.filter((line) => line && !line.startsWith('#'));

	it('is multi-stage and builds on the Node that package.json and CI declare', () => {
		const engines = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).engines.node as string;
		const major = /^>=(\d+)$/.exec(engines)?.[1];
		expect(major, `engines.node is ${engines}`).toBe('22');
		const ciNode = /^NODE22_VERSION=(\d+)\./m.exec(fs.readFileSync(path.join(ROOT, 'scripts/node22-bin.sh'), 'utf8'));
		expect(ciNode?.[1]).toBe(major);
		expect(stageStarts.length).toBeGreaterThanOrEqual(2);
		const image = new RegExp(`^node:${major}[-.\\w]*(\\s+AS\\s+\\S+)?$`, 'i');
		for (const index of stageStarts) expect(instructions[index].args).toMatch(image);
	});

	it('runs `node build` as the node user on port 3000 with a healthcheck, in its final stage', () => {
		const last = (keyword: string) => finalStage.filter((instruction) => instruction.keyword === keyword).at(-1)?.args;
		expect(JSON.parse(last('CMD') ?? 'null')).toEqual(['node', 'build']);
		expect(last('EXPOSE')?.split(/\s+/)).toContain('3000');
		expect(last('USER')).toBe('node');
		expect(last('HEALTHCHECK')).toMatch(/fetch\(.*\/healthz/);
		const env = finalStage
			.filter((instruction) => instruction.keyword === 'ENV')
			.map((instruction) => instruction.args)
			.join(' ');
		expect(env).toMatch(/\bNODE_ENV=production\b/);
		expect(env).toMatch(/\bPORT=3000\b/);
		expect(env).toMatch(/\bHOST=0\.0\.0\.0\b/);
	});

	it('COPYs only paths that exist in the repo and are not in .dockerignore', () => {
		const fromContext = instructions
			.filter((instruction) => instruction.keyword === 'COPY' || instruction.keyword === 'ADD')
			.map((instruction) => copyArgs(instruction.args))
			.filter(({ flags }) => !flags.some((flag) => flag.startsWith('--from=')))
			.flatMap(({ paths }) => paths.slice(0, -1));
		expect(fromContext.length).toBeGreaterThan(0);
		for (const source of fromContext) {
			const relative = path.posix.normalize(source).replace(/^\/+/, '').replace(/\/$/, '') || '.';
			expect(fs.existsSync(path.join(ROOT, relative)), `${source} is COPYed but missing from the repo`).toBe(true);
			const excludedBy = ignored.find(
				(pattern) => !pattern.startsWith('!') && (relative === pattern || relative.startsWith(`${pattern}/`))
			);
			expect(excludedBy, `${source} is COPYed but .dockerignore excludes it`).toBeUndefined();
		}
	});

	it('keeps host node_modules, build output and local data out of the build context', () => {
		// The build stage runs `COPY . .` after `npm ci`: a host node_modules would overwrite it.
		expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'build', '.svelte-kit', '.vapor', '.git', '.env']));
	});
});
