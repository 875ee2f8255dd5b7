/** A UUID in its canonical text form (any version, either case), as Postgres prints one. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for text Postgres reads as a uuid without an error: job and token ids are checked with it before SQL. */
export function isUuid(value: string): boolean {
	return UUID.test(value);
}
