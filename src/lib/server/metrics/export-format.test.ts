import { describe, expect, it } from 'vitest';
import {
	CSV_HEADER,
	JSON_CLOSING,
	contentDisposition,
	csvRows,
	exportFileName,
	jsonOpening,
	jsonRows
} from './export-format';
import type { Job, MetricPoint } from '../../training/job';

const point = (step: number, loss: number, accuracy: number | null): MetricPoint => ({
	step,
	epoch: Math.ceil(step / 100),
	loss,
	accuracy,
	recordedAt: `2026-11-29T03:00:0${step % 10}.000Z`
});
const job = { id: '0b7c1d7e-3f9a-4c52-9d1e-5a6b7c8d9e0f', name: 'ResNet on CIFAR' } as Job;

describe('CSV rows', () => {
	it('writes one line per point under the header, NaN and missing accuracy kept distinct', () => {
		const text = CSV_HEADER + csvRows([point(1, 2.5, 0.1), point(2, Number.NaN, null), point(3, 1e-7, 0.125)]);
		expect(text).toBe(
			'step,epoch,loss,accuracy,recorded_at\n' +
				'1,1,2.5,0.1,2026-11-29T03:00:01.000Z\n' +
				'2,1,NaN,,2026-11-29T03:00:02.000Z\n' +
				'3,1,1e-7,0.125,2026-11-29T03:00:03.000Z\n'
		);
	});

	it('keeps every digit of a double', () => {
		const loss = 0.1 + 0.2;
		expect(Number(csvRows([point(1, loss, null)]).split(',')[2])).toBe(loss);
	});
});

describe('JSON chunks', () => {
	it('assemble into one document, over any number of pages', () => {
		const pages = [[point(1, 2, 0.5), point(2, 1.5, 0.6)], [point(3, Number.NaN, null)]];
		const text = jsonOpening(job) + pages.map((page, i) => jsonRows(page, i === 0)).join('') + JSON_CLOSING;
		const parsed = JSON.parse(text);
		expect(parsed.job).toEqual(job);
		expect(parsed.metrics.map((p: MetricPoint) => p.step)).toEqual([1, 2, 3]);
		expect(parsed.metrics[2].loss).toBeNull();
		expect(parsed.metrics[0]).toEqual(point(1, 2, 0.5));
	});

	it('is valid for a job with no points', () => {
		expect(JSON.parse(jsonOpening(job) + JSON_CLOSING).metrics).toEqual([]);
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
