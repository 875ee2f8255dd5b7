import { describe, expect, it } from 'vitest';
import {
	CSV_HEADER,
	JSON_CLOSING,
	JSON_KEY_CLOSING,
	contentDisposition,
	csvRows,
	exportFileName,
	jsonKeyOpening,
	jsonOpening,
	jsonValues
} from './export-format';
import { toMetricValue } from './metrics.table';
import type { Job } from '../../training/job';
import type { CommittedRow } from '../../training/metrics';

const row = (position: number, step: number, values: Record<string, number>): CommittedRow => ({
	position,
	step,
	epoch: Math.ceil(step / 100),
	recordedAt: `2026-11-29T03:00:0${step % 10}.000Z`,
	values
});
const job = { id: '0b7c1d7e-3f9a-4c52-9d1e-5a6b7c8d9e0f', name: 'ResNet on CIFAR' } as Job;

describe('CSV rows', () => {
	it('writes one line per value in long form, non-finite values by name', () => {
		const text =
			CSV_HEADER +
			csvRows([
				row(1, 1, { 'train/loss': 2.5, lr: 1e-7 }),
				row(2, 2, { 'train/loss': Number.NaN }),
				row(3, 100, { 'val/loss': -Infinity })
			]);
		expect(text).toBe(
			'key,step,epoch,value,recorded_at\n' +
				'train/loss,1,1,2.5,2026-11-29T03:00:01.000Z\n' +
				'lr,1,1,1e-7,2026-11-29T03:00:01.000Z\n' +
				'train/loss,2,1,NaN,2026-11-29T03:00:02.000Z\n' +
				'val/loss,100,1,-Infinity,2026-11-29T03:00:00.000Z\n'
		);
	});

	it('keeps every digit of a double, and only the keys asked for', () => {
		const loss = 0.1 + 0.2;
		expect(Number(csvRows([row(1, 1, { loss })]).split(',')[3])).toBe(loss);
		expect(csvRows([row(1, 1, { loss: 1, lr: 2 })], new Set(['lr']))).toBe('lr,1,1,2,2026-11-29T03:00:01.000Z\n');
	});
});

describe('JSON chunks', () => {
	it('assemble into one document grouped by key, over any number of pages', () => {
		const value = (key: string, step: number, v: number) =>
			toMetricValue({ key, step, epoch: 1, value: v, recorded_at: '2026-11-29T03:00:00.000Z' });
		const text =
			jsonOpening(job) +
			jsonKeyOpening('train/loss', true) +
			jsonValues([value('train/loss', 1, 2), value('train/loss', 2, 1.5)], true) +
			jsonValues([value('train/loss', 3, Number.NaN)], false) +
			JSON_KEY_CLOSING +
			jsonKeyOpening('lr', false) +
			jsonValues([value('lr', 1, 0.001)], true) +
			JSON_KEY_CLOSING +
			JSON_CLOSING;
		const parsed = JSON.parse(text);
		expect(parsed.job).toEqual(job);
		expect(Object.keys(parsed.metrics)).toEqual(['train/loss', 'lr']);
		expect(parsed.metrics['train/loss'].map((p: { step: number }) => p.step)).toEqual([1, 2, 3]);
		expect(parsed.metrics['train/loss'][2]).toMatchObject({ value: null, nonFinite: 'NaN' });
		expect(parsed.metrics.lr[0]).toEqual({ step: 1, epoch: 1, value: 0.001, recordedAt: '2026-11-29T03:00:00.000Z' });
	});

	it('is valid for a job with no values', () => {
		expect(JSON.parse(jsonOpening(job) + JSON_CLOSING).metrics).toEqual({});
	});
});

describe('download names', () => {
	it('keep letters, digits, dots, dashes and underscores only', () => {
		expect(exportFileName(job, 'csv')).toBe('ResNet-on-CIFAR-metrics.csv');
		expect(exportFileName({ ...job, name: 'lr=0.9 "hot" / run #2' }, 'json')).toBe('lr-0.9-hot-run-2-metrics.json');
		expect(exportFileName({ ...job, name: 'Café über (demo)' }, 'csv')).toBe('Cafe-uber-demo-metrics.csv');
		expect(exportFileName({ ...job, name: '../../etc/passwd' }, 'csv')).toBe('etc-passwd-metrics.csv');
	});

	it('fall back to the job id when no safe character is left, and stay short', () => {
		expect(exportFileName({ ...job, name: '日本語' }, 'csv')).toBe('job-0b7c1d7e-metrics.csv');
		expect(exportFileName({ ...job, name: 'x'.repeat(100) }, 'csv')).toBe(`${'x'.repeat(80)}-metrics.csv`);
	});

	it('are the only name in the header, quoted', () => {
		expect(contentDisposition({ ...job, name: 'Café "1"' }, 'csv')).toBe('attachment; filename="Cafe-1-metrics.csv"');
	});
});
