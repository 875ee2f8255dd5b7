import { badRequest } from './errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Checks a job id from a URL before it reaches SQL, where a malformed uuid would be a 500. */
export function parseJobId(value: string): string {
	if (!UUID.test(value)) {
		throw badRequest(
			`"${value.slice(0, 60)}" is not a job id: job ids look like 0b7c1d7e-3f9a-4c52-9d1e-5a6b7c8d9e0f.`
		);
	}
	return value.toLowerCase();
}
