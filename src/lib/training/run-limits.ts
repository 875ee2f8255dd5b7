/**
 * The limits of a run's tags and note, apart from their schemas (run-fields.ts): the
 * browser needs the numbers, and importing them from the schemas would bring zod along
 * (a sixth of the monitor page's JavaScript).
 */
export const TAGS_MAX = 50;
export const TAG_MAX_LENGTH = 64;
export const NOTE_MAX_LENGTH = 10_000;
