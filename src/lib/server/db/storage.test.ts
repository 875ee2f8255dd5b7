import { describe, expect, it } from 'vitest';
import { DiskFullError, isReadOnly, Storage } from './storage';

const MB = 1024 ** 2;

function storageWith(freeMb: { value: number }) {
	let now = 0;
	const storage = new Storage({
		dataDir: '/data/pglite',
		reserveBytes: 64 * MB,
		statfs: () => ({ bavail: freeMb.value * 256, bsize: 4096 }),
		now: () => now
	});
	return { storage, advance: (ms: number) => (now += ms) };
}

describe('Storage', () => {
	it('refuses writes below the reserve with a 507 naming the folder and the setting, and takes them again once space is freed', () => {
		const free = { value: 10 };
		const { storage, advance } = storageWith(free);
		let refused: unknown;
		try {
			storage.assertRoomForWrite();
		} catch (error) {
			refused = error;
		}
		expect(refused).toBeInstanceOf(DiskFullError);
		expect((refused as DiskFullError).status).toBe(507);
		expect((refused as Error).message).toMatch(
			/disk is full: 10 MB free .*\/data\/pglite.*64 MB.*VAPOR_DISK_RESERVE_MB/
		);
		expect(storage.problem()).toMatch(/disk is full/);

		free.value = 200;
		advance(100);
		expect(() => storage.assertRoomForWrite()).not.toThrow();
		expect(storage.problem()).toBeUndefined();
	});

	it("remembers PostgreSQL's disk-full answer until a write gets through", () => {
		const storage = new Storage({ dataDir: undefined, reserveBytes: 64 * MB });
		expect(() => storage.assertRoomForWrite()).not.toThrow();
		storage.observe(true, Object.assign(new Error('could not extend file'), { code: '53100' }));
		expect(storage.problem()).toMatch(/PostgreSQL refused the last write/);
		storage.observe(false);
		expect(storage.problem()).toMatch(/PostgreSQL refused/);
		storage.observe(true);
		expect(storage.problem()).toBeUndefined();
	});
});

describe('isReadOnly', () => {
	it.each([
		['select 1', true],
		['with last as (select max(step) from metric_rows) select * from last', true],
		['select "updated_at" from jobs', true],
		['insert into jobs (id) values ($1)', false],
		['with rows as (insert into metric_rows values (1) returning 1) select * from rows', false],
		['select id from jobs where id = $1 for update', false],
		['select nextval($1)', false],
		['update jobs set status = $1', false],
		['create table t (id int)', false],
		['begin', false]
	])('%s → %s', (sql, expected) => {
		expect(isReadOnly(sql)).toBe(expected);
	});
});
