import { badRequest } from './errors';
import { isUuid } from '../uuid';

/** Checks a job id from a URL before it reaches SQL, where a malformed uuid would be a 500. */
export function parseJobId(value: string): string {
	if (!isUuid(value)) {
		throw badRequest(
			`"${value.slice(0, 60)}" is not a job id: job ids look like 0b7c1d7e-3f9a-4c52-9d1e-5a6b7c8d9e0f.`
		);
	}
	return value.toLowerCase();
}
