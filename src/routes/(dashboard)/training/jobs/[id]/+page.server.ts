import { orPageError } from '$lib/server/http';
import { parseJobId } from '$lib/server/ids';
import { getJob } from '$lib/server/jobs/jobs.service';
import { db } from '$lib/server/vapor';

export async function load({ params }) {
	return orPageError(async () => ({ job: await getJob(db(), parseJobId(params.id)) }));
}
