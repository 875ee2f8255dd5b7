import { compareKeys, findComparedJobs } from '$lib/server/jobs/compare.service';
import { db } from '$lib/server/vapor';
import { parseXMode } from '$lib/training/compare';

export async function load({ url }) {
	const compared = await findComparedJobs(db(), url.searchParams.get('ids'));
	return {
		...compared,
		keys: await compareKeys(db(), compared.jobs),
		metric: url.searchParams.get('metric'),
		x: parseXMode(url.searchParams.get('x'))
	};
}
