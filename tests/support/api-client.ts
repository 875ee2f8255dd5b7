import type { Job, MetricPoint } from '../../src/lib/training/job';
import { TEST_TOKEN } from './server';

/** A thin client of the public JSON API, as an external consumer would use it. */
export function apiClient(baseUrl: string, token = TEST_TOKEN) {
	async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
		const response = await fetch(`${baseUrl}${path}`, {
			method,
			headers: {
				authorization: `Bearer ${token}`,
				...(body === undefined ? {} : { 'content-type': 'application/json' })
			},
			body: body === undefined ? undefined : JSON.stringify(body)
		});
		if (!response.ok) throw new Error(`${method} ${path} → ${response.status}: ${await response.text()}`);
		return (await response.json()) as T;
	}
	return {
		createJob: async (fields: Record<string, unknown>) =>
			(await call<{ job: Job }>('POST', '/api/training/jobs', { baseModel: 'bert-base', dataset: 'imdb', ...fields }))
				.job,
		getJob: async (id: string) => (await call<{ job: Job }>('GET', `/api/training/jobs/${id}`)).job,
		start: async (id: string) => (await call<{ job: Job }>('POST', `/api/training/jobs/${id}/start`)).job,
		stop: async (id: string) => (await call<{ job: Job }>('POST', `/api/training/jobs/${id}/stop`)).job,
		finish: async (id: string, body: { status: 'completed' | 'failed'; error?: string }) =>
			(await call<{ job: Job }>('POST', `/api/training/jobs/${id}/finish`, body)).job,
		postPoints: (id: string, points: unknown[]) =>
			call<{ accepted: number; duplicates: number; lastStep: number; status: string }>(
				'POST',
				`/api/training/jobs/${id}/metrics`,
				points
			),
		/** Every point of a job, page by page. */
		async allPoints(id: string): Promise<MetricPoint[]> {
			const points: MetricPoint[] = [];
			for (;;) {
				const after = points.at(-1)?.step ?? 0;
				const page = (
					await call<{ metrics: MetricPoint[] }>('GET', `/api/training/jobs/${id}/metrics?after=${after}&limit=10000`)
				).metrics;
				if (page.length === 0) return points;
				points.push(...page);
			}
		}
	};
}

export const stepsUpTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
